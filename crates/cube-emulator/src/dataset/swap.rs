//! Replacing the data set in a folder that may hold other files too (a
//! README, `.gitattributes`), so that a failure or a crash at any step
//! leaves the old data set or the new one — never neither, never a mix
//! that reads as a data set — and no entry the data set does not name is
//! moved.
//!
//! The new data set is first written whole into `STAGING/new/` inside the
//! folder and synced; then the journal `STAGING/journal.json` names the
//! new files and the old files to retire. From the journal on, each old
//! entry moves into `STAGING/old/` and its new one into place: the old
//! manifest first (a folder mid-swap never reads as a data set), the new
//! manifest last (the commit). A failure rolls back (`STAGING/rollback`
//! marks it); a crash is finished by the next export into the folder or
//! import from it ([`recover`]): forward from the journal, back after the
//! mark. Every step is a rename, undone or redone by looking at where each
//! entry is, so a step may be replayed.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FILES_DIR, MANIFEST, RECORD_FILES};
use crate::files::{is_uid, sync_dir};

/// The folder an export works in, inside the target. Its name is
/// reserved: a folder of that name is taken for an export's own.
pub(crate) const STAGING: &str = ".cube-emulator-export";
const NEW: &str = "new";
const OLD: &str = "old";
const JOURNAL: &str = "journal.json";
const ROLLBACK: &str = "rollback";

/// Which files a swap places and which it retires, by uid.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Journal {
    /// The files of the new data set.
    pub(crate) new: Vec<String>,
    /// The old data set's files that the new one does not have.
    pub(crate) retire: Vec<String>,
}

impl Journal {
    /// The entries the new data set puts in place (the manifest aside).
    fn placed(&self) -> impl Iterator<Item = PathBuf> + '_ {
        RECORD_FILES
            .iter()
            .map(PathBuf::from)
            .chain(self.new.iter().map(|uid| Path::new(FILES_DIR).join(uid)))
    }

    fn retired(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.retire.iter().map(|uid| Path::new(FILES_DIR).join(uid))
    }
}

/// The renames a swap makes: on disk, or (in tests) failing or stopping
/// at a chosen step.
pub(crate) trait Moves {
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
}

/// Renames on disk.
pub(crate) struct Disk;

impl Moves for Disk {
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The staging folder of `target`.
pub(crate) fn staging(target: &Path) -> PathBuf {
    target.join(STAGING)
}

/// Where the new data set is written before the swap.
pub(crate) fn new_dir(target: &Path) -> PathBuf {
    staging(target).join(NEW)
}

/// Writes the journal (through a temporary file renamed over it, then
/// synced): from here on the swap is finished, not dropped, after a crash.
pub(crate) fn write_journal(target: &Path, journal: &Journal) -> io::Result<()> {
    let staging = staging(target);
    let temp = staging.join(format!("{JOURNAL}.tmp"));
    let mut text = serde_json::to_vec(journal).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut out = File::create(&temp)?;
    io::Write::write_all(&mut out, &text)?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&temp, staging.join(JOURNAL))?;
    sync_dir(&staging)
}

/// Moves `target/rel` (an old entry) into `STAGING/old/rel`, if it is
/// still in place.
fn aside(target: &Path, rel: &Path, moves: &mut dyn Moves) -> io::Result<()> {
    let (from, to) = (target.join(rel), staging(target).join(OLD).join(rel));
    if !exists(&from) {
        return Ok(());
    }
    if exists(&to) {
        return Err(io::Error::other(format!(
            "{} and {} both exist: the swap cannot tell which is the old one",
            from.display(),
            to.display()
        )));
    }
    moves.rename(&from, &to)
}

/// Puts the new data set in place (see the module docs); a step already
/// made is skipped. Returns once the new manifest is in place and synced.
pub(crate) fn forward(target: &Path, journal: &Journal, moves: &mut dyn Moves) -> io::Result<()> {
    let (new, old) = (new_dir(target), staging(target).join(OLD));
    if !exists(&new.join(MANIFEST)) {
        return Ok(()); // committed before
    }
    std::fs::create_dir_all(old.join(FILES_DIR))?;
    if !exists(&target.join(FILES_DIR)) {
        std::fs::create_dir(target.join(FILES_DIR))?;
    }
    aside(target, Path::new(MANIFEST), moves)?;
    for rel in journal.placed() {
        if exists(&new.join(&rel)) {
            aside(target, &rel, moves)?;
            moves.rename(&new.join(&rel), &target.join(&rel))?;
        }
    }
    for rel in journal.retired() {
        aside(target, &rel, moves)?;
    }
    sync_dir(&target.join(FILES_DIR))?;
    sync_dir(target)?;
    moves.rename(&new.join(MANIFEST), &target.join(MANIFEST))?;
    sync_dir(target)
}

/// Puts the old data set back (see the module docs): every new entry
/// placed goes back into `STAGING/new/`, every old one out of
/// `STAGING/old/`, the old manifest last. Nothing to do once the new
/// manifest is in place: the swap is then committed.
pub(crate) fn back(target: &Path, journal: &Journal, moves: &mut dyn Moves) -> io::Result<()> {
    let (new, old) = (new_dir(target), staging(target).join(OLD));
    if !exists(&new.join(MANIFEST)) {
        return Ok(());
    }
    File::create(staging(target).join(ROLLBACK))?;
    sync_dir(&staging(target))?;
    for rel in journal.placed() {
        if !exists(&new.join(&rel)) && exists(&target.join(&rel)) {
            moves.rename(&target.join(&rel), &new.join(&rel))?;
        }
    }
    for rel in journal.placed().chain(journal.retired()) {
        if exists(&old.join(&rel)) {
            moves.rename(&old.join(&rel), &target.join(&rel))?;
        }
    }
    if exists(&old.join(MANIFEST)) {
        moves.rename(&old.join(MANIFEST), &target.join(MANIFEST))?;
    }
    if !exists(&target.join(MANIFEST)) {
        // The folder held no data set: the `files/` the swap made goes
        // (only if empty, so never with anything in it).
        let _ = std::fs::remove_dir(target.join(FILES_DIR));
    }
    if exists(&target.join(FILES_DIR)) {
        sync_dir(&target.join(FILES_DIR))?;
    }
    sync_dir(target)
}

/// What [`recover`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Recovered {
    /// No export had been interrupted.
    Nothing,
    /// An export had stopped before it moved anything: its files went.
    Dropped,
    /// An export had stopped mid-swap: its new data set is now in place.
    Finished,
    /// A rollback had stopped: the old data set is back in place.
    RolledBack,
}

/// Finishes what an interrupted export left in `target` (see the module
/// docs) and removes its staging folder. Run with the folder locked.
pub(crate) fn recover(target: &Path, moves: &mut dyn Moves) -> io::Result<Recovered> {
    let staging = staging(target);
    match std::fs::symlink_metadata(&staging) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Recovered::Nothing),
        Err(err) => return Err(err),
        Ok(meta) if !meta.is_dir() => {
            return Err(io::Error::other(format!(
                "{} is not an export's folder; move it away",
                staging.display()
            )));
        }
        Ok(_) => {}
    }
    let recovered = if !exists(&staging.join(JOURNAL)) {
        Recovered::Dropped
    } else {
        let journal = read_journal(&staging.join(JOURNAL))?;
        if exists(&staging.join(ROLLBACK)) {
            back(target, &journal, moves)?;
            Recovered::RolledBack
        } else {
            forward(target, &journal, moves)?;
            Recovered::Finished
        }
    };
    std::fs::remove_dir_all(&staging)?;
    sync_dir(target)?;
    Ok(recovered)
}

/// The journal, its uids checked (they make paths).
fn read_journal(path: &Path) -> io::Result<Journal> {
    let mut text = Vec::new();
    File::open(path)?
        .take(crate::limits::RECORDS_MAX_BYTES)
        .read_to_end(&mut text)?;
    let journal: Journal = serde_json::from_slice(&text).map_err(io::Error::other)?;
    if journal
        .new
        .iter()
        .chain(&journal.retire)
        .all(|uid| is_uid(uid))
    {
        Ok(journal)
    } else {
        Err(io::Error::other(format!(
            "{} names a file that is not a uid",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    //! Every step of a swap made to fail, and to stop as a crash would:
    //! the folder then holds the old data set or the new one exactly, and
    //! every file that is not the data set's as it was.

    use std::collections::BTreeMap;

    use super::*;

    /// Renames on disk until `left` runs out; then every rename fails.
    struct Until {
        left: usize,
        made: usize,
    }

    impl Moves for Until {
        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
            if self.left == 0 {
                return Err(io::Error::other("stopped"));
            }
            self.left -= 1;
            self.made += 1;
            std::fs::rename(from, to)
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cube-emulator-swap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    type Tree = BTreeMap<String, String>;

    /// Every file under `dir` but the staging folder, with its text.
    fn tree(dir: &Path) -> Tree {
        let mut out = Tree::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(next) = stack.pop() {
            for entry in std::fs::read_dir(&next).unwrap() {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                if name == STAGING {
                    continue;
                }
                if path.is_dir() {
                    out.insert(format!("{name}/"), String::new());
                    stack.push(path);
                } else {
                    out.insert(name, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        out
    }

    fn write_tree(dir: &Path, tree: &Tree) {
        for (name, text) in tree {
            match name.strip_suffix('/') {
                Some(folder) => std::fs::create_dir_all(dir.join(folder)).unwrap(),
                None => {
                    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
                    std::fs::write(dir.join(name), text).unwrap();
                }
            }
        }
    }

    fn set(version: &str, uids: &[&str]) -> Tree {
        let mut tree: Tree = [MANIFEST]
            .iter()
            .chain(RECORD_FILES.iter())
            .map(|name| ((*name).to_owned(), format!("{version} {name}")))
            .collect();
        tree.insert(format!("{FILES_DIR}/"), String::new());
        for uid in uids {
            tree.insert(format!("{FILES_DIR}/{uid}"), format!("{version} {uid}"));
        }
        tree
    }

    /// What the folder holds beside the data set.
    fn foreign() -> Tree {
        [
            ("README.md", "read me"),
            (".gitattributes", "* text"),
            ("docs/", ""),
            ("docs/notes.txt", "notes"),
            ("files/.gitkeep", ""),
        ]
        .iter()
        .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
        .collect()
    }

    /// A folder holding `old` (and `foreign`), and the staged new set.
    fn staged(dir: &Path, old: &Tree, new: &Tree, journal: &Journal) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        write_tree(dir, old);
        write_tree(&new_dir(dir), new);
        write_journal(dir, journal).unwrap();
    }

    fn union(a: &Tree, b: &Tree) -> Tree {
        a.iter()
            .chain(b)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    struct Case {
        old: Tree,
        new: Tree,
        journal: Journal,
    }

    fn cases() -> Vec<(&'static str, Case)> {
        let journal = Journal {
            new: vec!["bb".into(), "cc".into()],
            retire: vec!["aa".into()],
        };
        vec![
            (
                "over a data set",
                Case {
                    old: union(&set("old", &["aa", "bb"]), &foreign()),
                    new: set("new", &["bb", "cc"]),
                    journal,
                },
            ),
            (
                "over a data set without files",
                Case {
                    old: set("old", &[]),
                    new: set("new", &["bb"]),
                    journal: Journal {
                        new: vec!["bb".into()],
                        retire: Vec::new(),
                    },
                },
            ),
            (
                "into an empty folder",
                Case {
                    old: Tree::new(),
                    new: set("new", &["bb"]),
                    journal: Journal {
                        new: vec!["bb".into()],
                        retire: Vec::new(),
                    },
                },
            ),
        ]
    }

    /// The folder once the new set is in: the foreign files stay.
    fn expected_new(case: &Case) -> Tree {
        let foreign: Tree = case
            .old
            .iter()
            .filter(|(name, _)| foreign().contains_key(*name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        union(&foreign, &case.new)
    }

    /// How many renames a whole swap makes.
    fn steps(dir: &Path, case: &Case) -> usize {
        staged(dir, &case.old, &case.new, &case.journal);
        let mut moves = Until {
            left: usize::MAX,
            made: 0,
        };
        forward(dir, &case.journal, &mut moves).unwrap();
        assert_eq!(tree(dir), expected_new(case));
        moves.made
    }

    #[test]
    fn a_failure_at_any_step_puts_the_old_data_set_back() {
        for (name, case) in cases() {
            let dir = scratch("fail");
            for step in 0..steps(&dir, &case) {
                staged(&dir, &case.old, &case.new, &case.journal);
                let mut moves = Until {
                    left: step,
                    made: 0,
                };
                forward(&dir, &case.journal, &mut moves).unwrap_err();
                back(&dir, &case.journal, &mut Disk).unwrap();
                assert_eq!(tree(&dir), case.old, "{name}, failing at step {step}");
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_crash_at_any_step_is_finished_by_the_next_recovery() {
        for (name, case) in cases() {
            let dir = scratch("crash");
            let total = steps(&dir, &case);
            for step in 0..total {
                staged(&dir, &case.old, &case.new, &case.journal);
                let mut moves = Until {
                    left: step,
                    made: 0,
                };
                forward(&dir, &case.journal, &mut moves).unwrap_err();
                assert_eq!(recover(&dir, &mut Disk).unwrap(), Recovered::Finished);
                assert_eq!(tree(&dir), expected_new(&case), "{name}, stopped at {step}");
                assert!(!staging(&dir).exists());
            }
            // A crash while putting the old data set back, at any step
            // of that: the next recovery finishes putting it back.
            let stopped_at = |step: usize, undo: usize| {
                staged(&dir, &case.old, &case.new, &case.journal);
                let mut moves = Until {
                    left: step,
                    made: 0,
                };
                forward(&dir, &case.journal, &mut moves).unwrap_err();
                let mut moves = Until {
                    left: undo,
                    made: 0,
                };
                let done = back(&dir, &case.journal, &mut moves).is_ok();
                (done, moves.made)
            };
            for step in 0..total {
                let (_, undo_steps) = stopped_at(step, usize::MAX);
                for undo in 0..undo_steps {
                    assert!(!stopped_at(step, undo).0);
                    assert_eq!(recover(&dir, &mut Disk).unwrap(), Recovered::RolledBack);
                    assert_eq!(tree(&dir), case.old, "{name}, {step} then {undo}");
                }
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_crash_before_the_journal_drops_the_staged_set_and_touches_nothing() {
        let (_, case) = cases().remove(0);
        let dir = scratch("before");
        staged(&dir, &case.old, &case.new, &case.journal);
        std::fs::remove_file(staging(&dir).join(JOURNAL)).unwrap();
        assert_eq!(recover(&dir, &mut Disk).unwrap(), Recovered::Dropped);
        assert_eq!(tree(&dir), case.old);
        assert!(!staging(&dir).exists());
        assert_eq!(recover(&dir, &mut Disk).unwrap(), Recovered::Nothing);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_journal_naming_a_path_is_refused() {
        let dir = scratch("journal");
        std::fs::create_dir_all(staging(&dir)).unwrap();
        let journal = Journal {
            new: vec!["../../etc/passwd".into()],
            retire: Vec::new(),
        };
        write_journal(&dir, &journal).unwrap();
        let err = recover(&dir, &mut Disk).unwrap_err();
        assert!(err.to_string().contains("not a uid"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
