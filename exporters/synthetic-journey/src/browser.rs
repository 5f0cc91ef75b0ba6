//! The one Chromium shared by all journeys: launched on first use, checked before each run,
//! replaced when it crashed, hung or lost its DevTools connection, and its orphaned children
//! reaped. Everything here blocks; callers run it on blocking threads.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use headless_chrome::browser::transport::Transport;
use headless_chrome::{Browser, LaunchOptions};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// Flags every launch carries, besides those headless_chrome adds itself.
const FLAGS: [&str; 6] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// headless_chrome drops its DevTools connection after this long without a message, and waits
/// this long for an answer. Journeys may be minutes apart, so it is long; a hung browser is
/// killed by the run's own timeout instead, which closes the connection and ends every wait.
const IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How long a browser may take to answer the health check before each run.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Every live browser in this process, by main PID, with the helpers it started outside its
/// own process tree (the crash handler forks away and lands with this process), so reaping
/// never touches a process in use.
fn live_browsers() -> &'static Mutex<HashMap<u32, HashSet<u32>>> {
    static LIVE: OnceLock<Mutex<HashMap<u32, HashSet<u32>>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

fn lock_live() -> std::sync::MutexGuard<'static, HashMap<u32, HashSet<u32>>> {
    live_browsers().lock().unwrap_or_else(|e| e.into_inner())
}

/// Why no browser could be had.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("could not create a profile directory: {0}")]
    Profile(std::io::Error),
    #[error("could not launch {path}: {reason}")]
    Launch { path: String, reason: String },
}

/// Counters about the browser's life, shown on `/metrics`.
#[derive(Clone, Default)]
pub struct BrowserMetrics {
    pub launches: Counter,
    pub orphans_reaped: Counter,
    pub resident_memory: Gauge,
}

/// A browser handed to one run.
#[derive(Clone)]
pub struct Lease {
    pub browser: Browser,
    pub pid: u32,
    /// A second DevTools connection for browser-level commands headless_chrome keeps private,
    /// such as disposing of a browser context.
    pub control: Arc<Transport>,
}

struct Running {
    browser: Browser,
    pid: u32,
    control: Arc<Transport>,
    // Kept alive as long as the browser; removed when it is dropped.
    _profile: tempfile::TempDir,
}

/// The shared browser.
pub struct BrowserPool {
    path: PathBuf,
    current: Mutex<Option<Running>>,
    metrics: BrowserMetrics,
}

impl BrowserPool {
    /// A pool that launches `path` on first use. Makes this process the reaper of orphaned
    /// Chromium helpers, so that they can be found and ended.
    pub fn new(path: impl Into<PathBuf>, metrics: BrowserMetrics) -> BrowserPool {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only changes how this process inherits
        // orphans; it touches no memory.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        BrowserPool {
            path: path.into(),
            current: Mutex::new(None),
            metrics,
        }
    }

    /// A healthy browser: the current one if it still answers, else a fresh one. The health
    /// check runs outside the lock, so a run that times out can still [`discard`] a browser
    /// that hangs in it.
    ///
    /// [`discard`]: BrowserPool::discard
    pub fn get(&self) -> Result<Lease, BrowserError> {
        let existing = self.lock().as_ref().map(Running::lease);
        if let Some(lease) = existing {
            if alive(lease.pid) && answers(&lease) {
                return Ok(lease);
            }
            tracing::warn!(
                pid = lease.pid,
                "browser gone or not answering, replacing it"
            );
            let pid = lease.pid;
            drop(lease);
            self.discard(pid);
        }
        let mut current = self.lock();
        if let Some(running) = current.as_ref() {
            // Another run launched one meanwhile.
            return Ok(running.lease());
        }
        let running = self.launch()?;
        let lease = running.lease();
        *current = Some(running);
        Ok(lease)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Kills the browser with main PID `pid` if it is still the current one: it hung, and
    /// killing it ends every call still waiting on it. The next run starts a fresh one.
    pub fn discard(&self, pid: u32) {
        let old = {
            let mut current = self.lock();
            match current.as_ref() {
                Some(running) if running.pid == pid => current.take(),
                _ => None,
            }
        };
        if let Some(old) = old {
            tracing::warn!(pid, "discarding the browser");
            self.retire(old);
        }
    }

    /// Ends the current browser, as the exporter exits.
    pub fn shutdown(&self) {
        let old = self.lock().take();
        if let Some(old) = old {
            tracing::info!(pid = old.pid, "stopping the browser");
            self.retire(old);
        }
    }

    /// The PID of the current browser's main process, if one runs.
    pub fn current_pid(&self) -> Option<u32> {
        self.lock().as_ref().map(|r| r.pid)
    }

    /// Updates the resident memory gauge: the browser and all its helpers.
    pub fn measure_memory(&self) -> Option<u64> {
        let bytes = self.current_pid().map(tree_rss)?;
        self.metrics
            .resident_memory
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        Some(bytes)
    }

    fn launch(&self) -> Result<Running, BrowserError> {
        self.reap_orphans();
        let profile = tempfile::Builder::new()
            .prefix("synthetic-journey-profile")
            .tempdir()
            .map_err(BrowserError::Profile)?;
        let options = LaunchOptions {
            headless: true,
            sandbox: false,
            enable_gpu: false,
            path: Some(self.path.clone()),
            user_data_dir: Some(profile.path().to_path_buf()),
            args: FLAGS.iter().map(OsStr::new).collect(),
            idle_browser_timeout: IDLE_TIMEOUT,
            ..LaunchOptions::default()
        };
        let before = chromium_children();
        let browser = Browser::new(options).map_err(|e| BrowserError::Launch {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        let pid = browser.get_process_id().unwrap_or_default();
        let control = control_connection(&browser, pid).map_err(|e| BrowserError::Launch {
            path: self.path.display().to_string(),
            reason: format!("no second DevTools connection: {e}"),
        })?;
        let helpers = chromium_children()
            .into_iter()
            .filter(|p| *p != pid && !before.contains(p))
            .collect();
        lock_live().insert(pid, helpers);
        self.metrics.launches.inc();
        tracing::info!(pid, path = %self.path.display(), "browser launched");
        Ok(Running {
            browser,
            pid,
            control,
            _profile: profile,
        })
    }

    /// Kills the browser and every process it started, by PID, then collects what it can.
    fn retire(&self, old: Running) {
        let helpers = lock_live().remove(&old.pid).unwrap_or_default();
        let mut family = descendants(old.pid);
        family.extend(helpers);
        for pid in family {
            kill(pid);
        }
        kill(old.pid);
        // Dropping the last handle waits for the main process.
        drop(old);
        self.reap_orphans();
    }

    /// Ends Chromium helpers whose browser died and collects their exit status. As the child
    /// subreaper, this process inherits them; any Chromium child that is not a live browser's
    /// main process is an orphan.
    pub fn reap_orphans(&self) -> usize {
        let me = std::process::id();
        let live: HashSet<u32> = lock_live()
            .iter()
            .flat_map(|(main, helpers)| std::iter::once(*main).chain(helpers.iter().copied()))
            .collect();
        let mut reaped = 0;
        for (pid, parent, name, state) in processes() {
            if parent != me || live.contains(&pid) || !name.contains("chrom") {
                continue;
            }
            if state != 'Z' {
                kill(pid);
            }
            // SAFETY: waitpid on our own child, without blocking.
            unsafe {
                libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG);
            }
            reaped += 1;
        }
        if reaped > 0 {
            self.metrics.orphans_reaped.inc_by(reaped as u64);
            tracing::info!(count = reaped, "reaped orphaned browser processes");
        }
        reaped
    }
}

/// Whether the browser answers a version query within [`HEALTH_TIMEOUT`]. One that does not
/// is hung: it is killed, which also ends the query.
fn answers(lease: &Lease) -> bool {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let pid = lease.pid;
    std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(HEALTH_TIMEOUT) {
            tracing::warn!(pid, "browser did not answer its health check, killing it");
            kill(pid);
        }
    });
    let answered = lease.browser.get_version().is_ok();
    let _ = done.send(());
    answered
}

impl Running {
    fn lease(&self) -> Lease {
        Lease {
            browser: self.browser.clone(),
            pid: self.pid,
            control: self.control.clone(),
        }
    }
}

fn control_connection(browser: &Browser, pid: u32) -> anyhow::Result<Arc<Transport>> {
    let url = url::Url::parse(&browser.get_ws_url())?;
    Ok(Arc::new(Transport::new(
        url,
        Some(pid),
        IDLE_TIMEOUT,
        None,
    )?))
}

impl Drop for BrowserPool {
    fn drop(&mut self) {
        let old = self.current.get_mut().ok().and_then(Option::take);
        if let Some(old) = old {
            self.retire(old);
        }
    }
}

fn kill(pid: u32) {
    if pid > 1 {
        // SAFETY: sends a signal; a PID that is gone yields ESRCH, which is fine.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// Whether `pid` runs and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => parse_stat(&stat).is_some_and(|(_, _, _, state)| state != 'Z'),
        Err(_) => false,
    }
}

/// Every process as (pid, parent pid, command name, state), from `/proc`.
fn processes() -> Vec<(u32, u32, String, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| parse_stat(&stat))
        .collect()
}

/// Parses `/proc/PID/stat`; the command name sits in parentheses and may hold spaces.
fn parse_stat(stat: &str) -> Option<(u32, u32, String, char)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let pid = stat[..open].trim().parse().ok()?;
    let name = stat[open + 1..close].to_string();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some((pid, parent, name, state))
}

/// Chromium processes whose parent is this process.
fn chromium_children() -> HashSet<u32> {
    let me = std::process::id();
    processes()
        .into_iter()
        .filter(|(_, parent, name, _)| *parent == me && name.contains("chrom"))
        .map(|(pid, ..)| pid)
        .collect()
}

/// Every process below `root` in the process tree, not `root` itself.
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut members = vec![root];
    let mut i = 0;
    while i < members.len() {
        let parent = members[i];
        members.extend(all.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    members.remove(0);
    members
}

/// Resident memory of `root`, its descendants and its helpers, in bytes.
pub fn tree_rss(root: u32) -> u64 {
    let mut members = descendants(root);
    members.push(root);
    members.extend(lock_live().get(&root).into_iter().flatten().copied());
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    members
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/statm")).ok())
        .filter_map(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * page)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_in_the_name_parses() {
        let stat = "4242 (chromium (zygote)) S 17 4242 4242 0 -1";
        let parsed = parse_stat(stat).unwrap();
        assert_eq!(parsed, (4242, 17, "chromium (zygote)".to_string(), 'S'));
    }

    #[test]
    fn this_process_is_alive_and_has_memory() {
        assert!(alive(std::process::id()));
        assert!(tree_rss(std::process::id()) > 0);
    }
}
