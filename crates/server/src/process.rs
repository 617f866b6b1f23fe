//! This process's resources from /proc: CPU time, resident memory, open file
//! descriptors, start time. Read by `/metrics`, REST `system-resources` and the
//! console.

use std::sync::Mutex;
use std::time::Instant;

/// USER_HZ on Linux: the unit of CPU times in /proc.
const TICK: f64 = 100.0;
const PAGE: u64 = 4096;

#[derive(Debug, Clone, Default)]
pub struct ProcessSample {
    pub cpu_seconds: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    /// Seconds since the Unix epoch.
    pub start_time: Option<f64>,
}

pub fn sample() -> ProcessSample {
    let mut s = ProcessSample::default();
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the command name's closing parenthesis: utime is the
        // 14th field of the line, stime the 15th, starttime the 22nd.
        let rest: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        if let (Some(u), Some(t)) = (field(14), field(15)) {
            s.cpu_seconds = Some((u + t) / TICK);
        }
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(boot), Some(start)) = (boot, field(22)) {
            s.start_time = Some(boot + start / TICK);
        }
    }
    s.rss_bytes = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|m| m.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * PAGE);
    s.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    s
}

/// The machine's memory in bytes (`MemTotal`).
pub fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// CPU use of this process in percent of one core since the previous call
/// (or since the process started, the first time).
pub fn cpu_percent(cpu_seconds: Option<f64>) -> Option<f64> {
    static LAST: Mutex<Option<(Instant, f64, f64)>> = Mutex::new(None);
    let now = Instant::now();
    let cpu = cpu_seconds?;
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let percent = match *last {
        // Samples closer than this give noisy figures: repeat the last one.
        Some((at, _, percent)) if now.duration_since(at).as_secs_f64() < 0.5 => {
            return Some(percent)
        }
        Some((at, before, _)) => (cpu - before) / now.duration_since(at).as_secs_f64() * 100.0,
        None => cpu / uptime_seconds().unwrap_or(0.0).max(0.001) * 100.0,
    };
    let percent = percent.max(0.0);
    *last = Some((now, cpu, percent));
    Some(percent)
}

/// Seconds since this process started.
pub fn uptime_seconds() -> Option<f64> {
    let start = sample().start_time?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some((now - start).max(0.0))
}
