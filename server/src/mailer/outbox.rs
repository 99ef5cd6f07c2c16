//! The default mailer: each message becomes `<dir>/<id>.eml` (the exact bytes that would go to
//! SES) and `<dir>/<id>.json` (`message_id`: the id it returns, which delivery events name as
//! SES's would; `from`, `to`, `source_message_id`, `recipient`). The `.json` is
//! written last, and both by rename, so a reader that sees it can read a complete `.eml`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;

use super::{Mailer, Outgoing, SendError};

pub struct Outbox {
    dir: PathBuf,
}

#[derive(Serialize)]
struct Meta<'a> {
    message_id: &'a str,
    from: &'a str,
    to: &'a [String],
    source_message_id: &'a str,
    recipient: &'a str,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Outbox { dir: dir.into() }
    }

    fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(name))
    }
}

/// Sortable by time, unique without coordination.
fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{millis:013}-{:016x}", rand::random::<u64>())
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, msg: &Outgoing) -> Result<String, SendError> {
        // A full disk or a missing mount may clear up; the pipeline retries, then dead-letters.
        let io =
            |e: std::io::Error| SendError::Transient(format!("outbox {}: {e}", self.dir.display()));
        let id = new_id();
        let meta = serde_json::to_vec(&Meta {
            message_id: &id,
            from: &msg.from,
            to: &msg.to,
            source_message_id: &msg.source_message_id,
            recipient: &msg.recipient,
        })
        .expect("metadata serializes");
        // One trip to the blocking pool for all five file operations, not one each (under
        // load those hand-offs cost more than the writes: docs/benchmarks.md).
        let (dir, raw, eml_id) = (self.dir.clone(), msg.raw.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            Self::write_atomically(&dir, &format!("{eml_id}.eml"), &raw)?;
            Self::write_atomically(&dir, &format!("{eml_id}.json"), &meta)
        })
        .await
        .map_err(|e| SendError::Transient(format!("outbox writer: {e}")))?
        .map_err(io)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &[u8]) -> Outgoing {
        Outgoing {
            from: "forwarder@mail.example.com".into(),
            to: vec!["owner@example.org".into()],
            raw: raw.to_vec(),
            source_message_id: "d6iitobk75ur44p8kdnnp7g2n800".into(),
            recipient: "team-app-prod-001@mail.example.com".into(),
        }
    }

    #[tokio::test]
    async fn writes_the_exact_bytes_and_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("outbox"));
        let raw = b"From: x\r\n\r\n\x93binary\xff\x00\r\n";
        let id = outbox.send(&message(raw)).await.unwrap();
        let eml = std::fs::read(dir.path().join(format!("outbox/{id}.eml"))).unwrap();
        assert_eq!(eml, raw);
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("outbox/{id}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            meta,
            serde_json::json!({
                "message_id": id,
                "from": "forwarder@mail.example.com",
                "to": ["owner@example.org"],
                "source_message_id": "d6iitobk75ur44p8kdnnp7g2n800",
                "recipient": "team-app-prod-001@mail.example.com"
            })
        );
        let second = outbox.send(&message(b"other")).await.unwrap();
        assert_ne!(id, second);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_a_transient_failure() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = Outbox::new(&file).send(&message(b"x")).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    }
}
