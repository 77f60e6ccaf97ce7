//! The shared install cache: complete installs only, one installer at a
//! time.

use std::fs::File;
use std::future::{ready, Future};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::wait::{poll_until, Interval, Probe};

/// File written into an install directory just before it is renamed into
/// place; a directory without it is never used.
pub const COMPLETE_MARKER: &str = ".conformance-complete";

/// How long a run waits for another run's install of the same thing.
const LOCK_WAIT: Duration = Duration::from_secs(20 * 60);

/// An exclusive `flock` on a file; released when dropped (the descriptor
/// closes), including when the process dies.
pub struct CacheLock {
    _lock: Flock<File>,
}

/// Takes the exclusive lock on `path`, waiting (with one progress line) while
/// another run holds it.
pub async fn lock(path: &Path, progress: &Progress, what: &str) -> Result<CacheLock> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("opening the lock file", path, e))?;
    // `Flock::lock` hands the file back when the lock is busy; it waits here
    // between tries.
    let mut file = Some(file);
    let mut announced = false;
    let taken = poll_until(
        LOCK_WAIT,
        Interval::fixed(Duration::from_millis(500)),
        || {
            let Some(f) = file.take() else {
                return ready(Probe::Done(Err(Errno::EBADF)));
            };
            ready(match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => Probe::Done(Ok(lock)),
                Err((f, Errno::EWOULDBLOCK)) => {
                    file = Some(f);
                    if !announced {
                        progress.step(format!(
                            "waiting for another run that is installing {what} (lock {})",
                            path.display()
                        ));
                        announced = true;
                    }
                    Probe::NotYet(())
                }
                Err((_, errno)) => Probe::Done(Err(errno)),
            })
        },
    )
    .await;
    match taken {
        Ok(Ok(lock)) => Ok(CacheLock { _lock: lock }),
        Ok(Err(errno)) => Err(Error::io("locking", path, errno.into())),
        Err(_) => Err(Error::Npm(format!(
            "another run has been installing {what} for over {} minutes (lock {}); stop it or delete the lock file and run again",
            LOCK_WAIT.as_secs() / 60,
            path.display()
        ))),
    }
}

/// True when `dir` is a finished install (it has the completion marker).
pub fn is_complete(dir: &Path) -> bool {
    dir.join(COMPLETE_MARKER).is_file()
}

/// Makes sure `final_dir` holds a complete install, running `work` on a
/// temporary sibling directory and renaming that into place when `work`
/// succeeds. Returns whether an install was done (false on a cache hit).
///
/// Under the lock, leftovers of interrupted installs (temporary siblings, an
/// unmarked `final_dir`) are deleted: nobody else can be working on them.
pub async fn install_atomically<F, Fut>(
    final_dir: &Path,
    progress: &Progress,
    what: &str,
    work: F,
) -> Result<bool>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    if is_complete(final_dir) {
        return Ok(false);
    }
    let parent = final_dir
        .parent()
        .ok_or_else(|| Error::Usage(format!("{} has no parent", final_dir.display())))?;
    let name = final_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    let _lock = lock(&parent.join(format!(".{name}.lock")), progress, what).await?;
    if is_complete(final_dir) {
        return Ok(false);
    }
    let tmp_prefix = format!(".{name}.tmp-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&tmp_prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    if final_dir.exists() {
        std::fs::remove_dir_all(final_dir).map_err(|e| Error::io("removing", final_dir, e))?;
    }
    // Dropped (and deleted) on every error and on cancellation.
    let tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix)
        .tempdir_in(parent)
        .map_err(|e| Error::io("creating a temporary directory in", parent, e))?;
    work(tmp.path().to_path_buf()).await?;
    let marker = tmp.path().join(COMPLETE_MARKER);
    std::fs::write(
        &marker,
        format!(
            "{what}\ninstalled {}\n",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    .map_err(|e| Error::io("writing", &marker, e))?;
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, final_dir) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(Error::io("moving the install into place at", final_dir, e));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn atomic_installs_are_all_or_nothing() {
        let cache = tempfile::tempdir().unwrap();
        let target = cache.path().join("hosts").join("thing@1");
        let progress = Progress::silent();

        // A failing install leaves neither the target nor a temporary dir.
        let err = install_atomically(&target, &progress, "thing@1", |tmp| async move {
            std::fs::write(tmp.join("half"), "x").unwrap();
            Err(Error::Npm("boom".into()))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("boom"));
        assert!(!target.exists());
        let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        // A half-finished directory without the marker is replaced.
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("stale"), "x").unwrap();
        let did = install_atomically(&target, &progress, "thing@1", |tmp| async move {
            std::fs::write(tmp.join("payload"), "ok").unwrap();
            Ok(())
        })
        .await
        .unwrap();
        assert!(did);
        assert!(is_complete(&target));
        assert!(target.join("payload").is_file());
        assert!(!target.join("stale").exists());

        // A complete install is reused without running the work.
        let did = install_atomically(&target, &progress, "thing@1", |_| async move {
            panic!("must not run on a cache hit")
        })
        .await
        .unwrap();
        assert!(!did);
    }

    #[tokio::test]
    async fn concurrent_installs_run_once() {
        let cache = tempfile::tempdir().unwrap();
        let target = cache.path().join("thing@2");
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let progress = Progress::silent();
        let one = || {
            let runs = runs.clone();
            let target = target.clone();
            let progress = &progress;
            async move {
                install_atomically(&target, progress, "thing@2", |tmp| async move {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    std::fs::write(tmp.join("payload"), "ok").unwrap();
                    Ok(())
                })
                .await
            }
        };
        let (a, b) = tokio::join!(one(), one());
        assert_ne!(a.unwrap(), b.unwrap(), "exactly one of them installs");
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(is_complete(&target));
    }
}
