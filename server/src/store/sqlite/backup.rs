//! An online copy of the embedded store (`mailvend backup FILE`), made while the server runs.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::unavailable;
use crate::store::StoreError;

/// What a backup holds, read back from the copy itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    pub bytes: u64,
    pub mappings: i64,
    pub message_records: i64,
    pub audit_entries: i64,
}

/// Writes a consistent copy of the database at `source` to `to`, while a server may be
/// writing to it. `source` must exist and is neither created nor migrated (a mistyped path
/// must not back up an empty new database, and a newer binary must not change the schema
/// under a running server). `VACUUM INTO` reads one snapshot (in WAL mode writers go on
/// meanwhile) into a new, compacted file made beside `to`, readable by its owner only. Sign-in
/// sessions are wiped from the copy (their ids are bearer credentials). The copy is checked
/// (`PRAGMA integrity_check`), synced, and linked into place only if `to` does not exist: a
/// backup never overwrites a file.
pub async fn backup(source: &Path, to: &Path) -> Result<BackupSummary, StoreError> {
    if !source.is_file() {
        return Err(StoreError::NotFound(format!(
            "the database {}",
            source.display()
        )));
    }
    if to.exists() {
        return Err(already_there(to));
    }
    let dir = to
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = to
        .file_name()
        .ok_or_else(|| bad_file(format!("{} names no file", to.display())))?
        .to_string_lossy();
    let partial = dir.join(format!(
        ".{name}.partial-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    create_private(&partial)?;
    let summary = async {
        write_copy(source, &partial).await?;
        let summary = check(&partial).await?;
        keep(&partial, to, dir)?;
        Ok(summary)
    }
    .await;
    let _ = std::fs::remove_file(&partial);
    summary
}

fn already_there(to: &Path) -> StoreError {
    StoreError::Conflict(format!(
        "{} already exists; a backup does not overwrite a file",
        to.display()
    ))
}

fn bad_file(message: String) -> StoreError {
    StoreError::Invalid {
        field: "file",
        message,
    }
}

/// A connection to the existing database at `path` (never created).
async fn connect(path: &Path, read_only: bool) -> Result<sqlx::SqliteConnection, StoreError> {
    SqliteConnectOptions::from_str("sqlite://")
        .map_err(unavailable)?
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))
}

/// The snapshot into `partial`, then the sessions wiped from it (zeroed on disk, not only
/// unlinked from the tree, and the file compacted again).
async fn write_copy(source: &Path, partial: &Path) -> Result<(), StoreError> {
    let target = partial
        .to_str()
        .ok_or_else(|| bad_file(format!("{} is not UTF-8", partial.display())))?
        .to_string();
    let mut from = connect(source, false).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut from)
        .await
        .map_err(|e| unavailable(format!("the copy failed: {e}")))?;
    from.close().await.map_err(unavailable)?;
    let mut copy = connect(partial, false).await?;
    for statement in [
        "PRAGMA secure_delete = ON",
        "DELETE FROM sessions",
        "VACUUM",
    ] {
        sqlx::query(statement)
            .execute(&mut copy)
            .await
            .map_err(|e| unavailable(format!("wiping sessions from the copy: {e}")))?;
    }
    copy.close().await.map_err(unavailable)
}

/// Syncs the checked copy and links it in as `to`, which must still not exist (a link, unlike
/// a rename, fails rather than replace a file that appeared meanwhile).
fn keep(partial: &Path, to: &Path, dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| unavailable(format!("cannot sync the copy: {e}")))?;
    std::fs::hard_link(partial, to).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => already_there(to),
        _ => unavailable(format!("cannot create {}: {e}", to.display())),
    })?;
    // The new name is durable once its directory is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The copy holds raw mail and token digests: the empty file is made readable by its owner
/// only before anything is written to it (`VACUUM INTO` fills an empty file it is given and
/// keeps its mode).
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| unavailable(format!("cannot create {}: {e}", path.display())))
}

/// Opens the copy read-only, checks it page by page and counts what it holds.
async fn check(copy: &Path) -> Result<BackupSummary, StoreError> {
    let mut conn = connect(copy, true).await?;
    let verdict: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(unavailable)?;
    if verdict.len() != 1 || verdict[0].0 != "ok" {
        let problems: Vec<String> = verdict.into_iter().map(|(v,)| v).take(5).collect();
        return Err(unavailable(format!(
            "the copy failed its integrity check: {}",
            problems.join("; ")
        )));
    }
    let mut count = async |table: &str| -> Result<i64, StoreError> {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .map_err(unavailable)
    };
    let summary = BackupSummary {
        mappings: count("mappings").await?,
        message_records: count("messages").await?,
        audit_entries: count("audit_log").await?,
        bytes: 0,
    };
    conn.close().await.map_err(unavailable)?;
    let bytes = std::fs::metadata(copy).map_err(unavailable)?.len();
    Ok(BackupSummary { bytes, ..summary })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::fresh;
    use super::super::SqliteStore;
    use super::*;
    use crate::store::conformance::spec;
    use crate::store::{MappingStore, SessionStore};

    async fn vend(store: &SqliteStore, n: usize) {
        for _ in 0..n {
            store.vend(&spec("backup")).await.unwrap();
        }
    }

    async fn mappings_in(path: &Path) -> usize {
        let copy = SqliteStore::open(path).await.unwrap();
        copy.list(&Default::default(), 1000, None)
            .await
            .unwrap()
            .items
            .len()
    }

    /// A copy taken while another task keeps vending opens, passes the integrity check and
    /// holds at least every mapping vended before it began, but no sign-in session (not even in
    /// its free pages); no partial file is left; a second backup to the same file is refused
    /// and leaves the first alone.
    #[tokio::test]
    async fn a_backup_under_writes_is_whole_and_never_overwrites() {
        let (dir, store) = fresh().await;
        vend(&store, 100).await;
        let session = "session-id-that-is-a-bearer-credential-0123";
        store
            .create_session(session, "{}", 4_000_000_000)
            .await
            .unwrap();
        let writing = tokio::spawn({
            let store: Arc<SqliteStore> = store.clone();
            async move { vend(&store, 200).await }
        });
        let backups = dir.path().join("backups");
        std::fs::create_dir_all(&backups).unwrap();
        let to = backups.join("copy.db");
        let source = dir.path().join("c.db");
        let summary = backup(&source, &to).await.unwrap();
        writing.await.unwrap();
        assert!((100..=300).contains(&summary.mappings), "{summary:?}");
        assert_eq!(
            summary.audit_entries, summary.mappings,
            "each vend and its audit entry are in the copy together"
        );
        assert_eq!(std::fs::metadata(&to).unwrap().len(), summary.bytes);
        let left: Vec<_> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["copy.db"], "no partial file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&to).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "raw mail is in the copy: {mode:o}");
        }
        let bytes = std::fs::read(&to).unwrap();
        assert!(
            !bytes
                .windows(session.len())
                .any(|w| w == session.as_bytes()),
            "a session id is in the copy"
        );
        assert_eq!(mappings_in(&to).await as i64, summary.mappings);

        let again = backup(&source, &to).await.unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        assert_eq!(
            mappings_in(&to).await as i64,
            summary.mappings,
            "the first backup is untouched"
        );
    }

    /// A mistyped store path is refused, not created, migrated and backed up empty.
    #[tokio::test]
    async fn a_missing_database_is_refused_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("typo/mailvend.db");
        let e = backup(&source, &dir.path().join("copy.db"))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound(_)), "{e}");
        assert!(!source.exists() && !source.parent().unwrap().exists());
        assert!(!dir.path().join("copy.db").exists());
    }
}
