//! Debian's ffmpeg as an encoder publishing to a test server (RTMP, SRT).

use std::time::Duration;

use super::Server;

/// ffmpeg sends 8 s of a test pattern (H.264, no B-frames) and a tone (AAC)
/// to `url` as `format` (`flv`, `mpegts`); asserts that stream `id` of
/// LiveApp goes live in REST with `publish_type`.
pub async fn ffmpeg_publishes(
    server: &Server,
    url: &str,
    format: &str,
    id: &str,
    publish_type: &str,
) {
    let mut ffmpeg = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "8", "-c:v", "libx264", "-preset", "veryfast"])
        .args(["-bf", "0", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .args(["-f", format, url])
        .kill_on_drop(true)
        .spawn()
        .expect("Debian's ffmpeg runs");
    let mut live = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = server
            .rest("GET", "LiveApp", &format!("/broadcasts/{id}"), None)
            .await;
        if r.status == 200 && r.body["status"] == "broadcasting" {
            assert_eq!(r.body["publishType"], publish_type);
            live = true;
            break;
        }
    }
    let _ = ffmpeg.kill().await;
    assert!(live, "ffmpeg's {publish_type} stream never went live");
}
