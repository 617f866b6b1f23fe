//! A recording that cannot be made costs the live stream nothing, and REST
//! says why (the broadcast's `recordingError`, Tern's addition): a streams
//! folder that cannot be created, and a disk that fills up while Debian's
//! ffmpeg publishes over RTMP (a 256 KiB tmpfs mounted on the folder).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

/// Unmounts on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A tmpfs of `kib` KiB on `dir`, if this machine lets the tests mount.
fn small_disk(dir: &Path, kib: u32) -> Option<Mount> {
    std::fs::create_dir_all(dir).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(dir.to_path_buf()))
}

fn push(url: &str) -> tokio::process::Child {
    tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
        ])
        .args([
            "-b:v", "1500k", "-bf", "0", "-pix_fmt", "yuv420p", "-c:a", "aac",
        ])
        .args(["-f", "flv", url])
        .kill_on_drop(true)
        .spawn()
        .expect("Debian's ffmpeg runs")
}

/// The broadcast once `ready` holds for it (at most 20 s).
async fn broadcast_when(
    server: &common::Server,
    app: &str,
    id: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = server
            .rest("GET", app, &format!("/broadcasts/{id}"), None)
            .await;
        if r.status == 200 && ready(&r.body) {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the broadcast never got there: {last}");
}

#[tokio::test]
async fn a_recording_that_cannot_be_written_is_in_rest_and_the_stream_goes_on() {
    let dir = std::env::temp_dir().join(format!("tern-rec-err-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Blocked: its streams folder is a file. Full: a small disk.
    std::fs::create_dir_all(dir.join("Blocked")).unwrap();
    std::fs::write(dir.join("Blocked/streams"), b"not a folder").unwrap();
    let disk = small_disk(&dir.join("Full/streams"), 256);
    let toml = "rtmp_addr = \"127.0.0.1:0\"\n\
                [apps.Blocked]\nmp4MuxingEnabled = true\n\
                [apps.Full]\nmp4MuxingEnabled = true\n";
    let server = common::start_at(dir.clone(), toml).await;
    let rtmp = server.running.as_ref().unwrap().rtmp_addr.unwrap();

    let _blocked = push(&format!("rtmp://{rtmp}/Blocked/blocked"));
    let b = broadcast_when(&server, "Blocked", "blocked", |b| {
        b["status"] == "broadcasting" && b["recordingError"].is_string()
    })
    .await;
    let why = b["recordingError"].as_str().unwrap();
    assert!(why.contains("cannot start the recording"), "{why}");

    match &disk {
        Some(_) => {
            let _full = push(&format!("rtmp://{rtmp}/Full/full"));
            let b =
                broadcast_when(&server, "Full", "full", |b| b["recordingError"].is_string()).await;
            let why = b["recordingError"].as_str().unwrap();
            assert!(why.contains("recording stopped"), "{why}");
            assert!(why.to_lowercase().contains("space"), "{why}");
            // The live stream did not notice.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let b = broadcast_when(&server, "Full", "full", |_| true).await;
            assert_eq!(b["status"], "broadcasting");
        }
        None => eprintln!("mount is not permitted here: the full-disk case did not run"),
    }
    server.stop().await;
    drop(disk);
    let _ = std::fs::remove_dir_all(&dir);
}
