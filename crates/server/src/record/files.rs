//! Where recordings live and what they are called: `DATA_DIR/{App}/streams/`,
//! `{streamId}.mp4`, or `{streamId}_{n}.mp4` when that name is taken, as Ant
//! Media names them. A name never leaves its folder.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// The folder of an app's recordings (served at `/{App}/streams/`).
pub fn streams_dir(data_dir: &Path, app: &str) -> PathBuf {
    data_dir.join(app).join("streams")
}

/// A file name that is safe to join to the folder: no separators, no
/// leading dot, printable ASCII letters, digits and `-_.` only.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The final file of a recording and the `.part` file it grows in.
#[derive(Debug, Clone)]
pub struct Target {
    pub dir: PathBuf,
    /// e.g. `stream1_2.mp4`.
    pub name: String,
    pub part: PathBuf,
}

impl Target {
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

/// Picks the name of a new recording and claims it by creating its `.part`
/// file (so two recordings never take one name).
pub fn reserve(dir: &Path, stream_id: &str, ext: &str) -> io::Result<Target> {
    let base: String = stream_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "stream".to_owned()
    } else {
        base
    };
    std::fs::create_dir_all(dir)?;
    for n in 0..10_000 {
        let name = match n {
            0 => format!("{base}.{ext}"),
            n => format!("{base}_{n}.{ext}"),
        };
        let part = dir.join(format!("{name}.part"));
        if dir.join(&name).exists() {
            continue;
        }
        match OpenOptions::new().write(true).create_new(true).open(&part) {
            Ok(_) => {
                return Ok(Target {
                    dir: dir.to_path_buf(),
                    name,
                    part,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free file name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_up_and_never_leave_the_folder() {
        let dir = std::env::temp_dir().join(format!("tern-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = reserve(&dir, "s1", "mp4").unwrap();
        assert_eq!(a.name, "s1.mp4");
        let b = reserve(&dir, "s1", "mp4").unwrap();
        assert_eq!(b.name, "s1_1.mp4", "the first one's .part holds its name");
        std::fs::write(a.path(), b"done").unwrap();
        std::fs::remove_file(&a.part).unwrap();
        let c = reserve(&dir, "s1", "mp4").unwrap();
        assert_eq!(c.name, "s1_2.mp4");
        let evil = reserve(&dir, "../../etc/passwd", "mp4").unwrap();
        assert_eq!(evil.dir, dir);
        assert!(is_safe_name(&evil.name), "{}", evil.name);
        assert!(!is_safe_name("../x.mp4") && !is_safe_name(".x") && !is_safe_name("a/b"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
