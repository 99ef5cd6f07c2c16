//! Raw messages that SES's S3 action stored: read with the AWS SDK, streamed into memory
//! chunk by chunk, never past the limit.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use std::sync::Arc;

use aws_sdk_s3::Client;
use tokio::sync::OnceCell;

use crate::inbound::budget::{Budget, Reservation};
use crate::store::S3Object;

/// SES receives messages up to 40 MB.
pub const MAX_MESSAGE_BYTES: u64 = 40 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("s3://{bucket}/{key} is {size} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge {
        bucket: String,
        key: String,
        size: u64,
    },
    /// Too many bytes of mail are in memory now: SNS retries later.
    #[error("s3://{bucket}/{key} ({size} bytes) waits: MAILVEND_INBOUND_BUDGET_MB is spent by mail in flight")]
    Busy {
        bucket: String,
        key: String,
        size: u64,
    },
    /// Worth trying again (missing object, permissions being fixed, network): SNS retries.
    #[error("reading s3://{bucket}/{key}: {reason}")]
    Unavailable {
        bucket: String,
        key: String,
        reason: String,
    },
}

/// The S3 client for stored mail, shared by `/sns` (reading new mail), replays and the
/// message view (reading kept mail). Made on first use: most deployments receive inline
/// content only, and loading the AWS configuration may probe the network.
#[derive(Clone, Default)]
pub struct S3Mail {
    client: Arc<OnceCell<Client>>,
}

impl S3Mail {
    /// A client for `config`, ready now (tests point it at moto).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        S3Mail {
            client: Arc::new(OnceCell::new_with(Some(client_for(config)))),
        }
    }

    /// A client from the environment's AWS configuration, made when first needed.
    pub fn from_environment() -> Self {
        S3Mail::default()
    }

    /// Makes this (shared) client use `other`'s, unless it is already in use.
    pub fn use_client_of(&self, other: &S3Mail) {
        if let Some(client) = other.client.get() {
            let _ = self.client.set(client.clone());
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .load()
                    .await;
                client_for(&config)
            })
            .await
    }

    /// The object's bytes, read only once its size (the declared one, else the largest a
    /// message can be) is reserved in `budget`; the reservation goes with them.
    pub async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        budget: &Budget,
    ) -> Result<(Vec<u8>, Reservation), FetchError> {
        let unavailable = |reason: String| FetchError::Unavailable {
            bucket: bucket.to_string(),
            key: key.to_string(),
            reason,
        };
        let too_large = |size: u64| FetchError::TooLarge {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size,
        };
        let out = self
            .client()
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable(sdk_reason(&e)))?;
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(size) = declared.filter(|&n| n > MAX_MESSAGE_BYTES) {
            return Err(too_large(size));
        }
        let size = declared.unwrap_or(MAX_MESSAGE_BYTES);
        let reservation = budget.try_reserve(size).ok_or_else(|| FetchError::Busy {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size,
        })?;
        let mut body = out.body;
        let mut raw = Vec::with_capacity(declared.unwrap_or(0) as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| unavailable(e.to_string()))?
        {
            if (raw.len() + chunk.len()) as u64 > MAX_MESSAGE_BYTES {
                return Err(too_large((raw.len() + chunk.len()) as u64));
            }
            raw.extend_from_slice(&chunk);
        }
        Ok((raw, reservation))
    }

    /// At most the first `limit` bytes of a kept object (a ranged read): enough for its
    /// header block without reading 40 MB to show it.
    pub async fn fetch_head(&self, object: &S3Object, limit: u64) -> Result<Vec<u8>, FetchError> {
        let out = self
            .client()
            .await
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .range(format!("bytes=0-{}", limit.saturating_sub(1)))
            .send()
            .await
            .map_err(|e| FetchError::Unavailable {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                reason: sdk_reason(&e),
            })?;
        // Chunk by chunk, so that a server ignoring the range costs no more than asked for.
        let mut body = out.body;
        let mut head = Vec::new();
        while (head.len() as u64) < limit {
            match body.try_next().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(FetchError::Unavailable {
                        bucket: object.bucket.clone(),
                        key: object.key.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        head.truncate(limit as usize);
        Ok(head)
    }
}

fn client_for(config: &aws_config::SdkConfig) -> Client {
    // A custom endpoint (moto, MinIO) serves buckets by path, not by host name.
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    Client::from_conf(s3)
}

fn sdk_reason<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> String {
    match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
        None => DisplayErrorContext(e).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::moto;

    #[tokio::test]
    async fn reads_stored_mail_byte_for_byte_and_refuses_what_is_too_large() {
        let (config, _) = moto::sdk_config().await;
        let mail = S3Mail::new(&config);
        let bucket = format!("inbound-{:x}", rand::random::<u32>());
        let client = mail.client().await;
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        // 3 MB with every byte value: several body chunks.
        let raw: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        client
            .put_object()
            .bucket(&bucket)
            .key("mail/abc")
            .body(raw.clone().into())
            .send()
            .await
            .unwrap();
        let budget = Budget::new(MAX_MESSAGE_BYTES + 1024 * 1024);
        let (got, reservation) = mail.fetch(&bucket, "mail/abc", &budget).await.unwrap();
        assert!(got == raw);
        assert_eq!(
            budget.available(),
            MAX_MESSAGE_BYTES + 1024 * 1024 - 3_000_000u64.div_ceil(1024) * 1024,
            "held while the message is"
        );
        let object = S3Object {
            bucket: bucket.clone(),
            key: "mail/abc".into(),
        };
        assert!(
            mail.fetch_head(&object, 1000).await.unwrap() == raw[..1000],
            "a ranged read of the first 1000 bytes"
        );
        let busy = Budget::new(2 * 1024 * 1024);
        assert!(matches!(
            mail.fetch(&bucket, "mail/abc", &busy).await,
            Err(FetchError::Busy {
                size: 3_000_000,
                ..
            })
        ));
        drop(reservation);

        let big = vec![b'x'; MAX_MESSAGE_BYTES as usize + 1];
        client
            .put_object()
            .bucket(&bucket)
            .key("mail/big")
            .body(big.into())
            .send()
            .await
            .unwrap();
        assert!(matches!(
            mail.fetch(&bucket, "mail/big", &budget).await,
            Err(FetchError::TooLarge { size, .. }) if size == MAX_MESSAGE_BYTES + 1
        ));
        match mail.fetch(&bucket, "mail/none", &budget).await {
            Err(FetchError::Unavailable { reason, .. }) => {
                assert!(reason.contains("NoSuchKey"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
