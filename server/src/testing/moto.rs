//! A moto server (DynamoDB, SES, S3) for the tests of this process.

/// A moto server for this test process, started on first use from the venv that
/// `scripts/bootstrap.sh test` makes (or `MAILVEND_TEST_MOTO_URL`).
pub async fn endpoint() -> String {
    static ENDPOINT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    ENDPOINT
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("MAILVEND_TEST_MOTO_URL") {
                return url;
            }
            let bin = super::support::root().join(".venv-moto/bin/moto_server");
            assert!(
                bin.exists(),
                "{} is missing: run `scripts/bootstrap.sh test` (make test does) to install the moto server",
                bin.display()
            );
            let port = super::free_port();
            super::support::keep_until_exit(&[
                bin.to_str().unwrap(),
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]);
            super::wait_for_port(port, "moto_server").await;
            format!("http://127.0.0.1:{port}")
        })
        .await
        .clone()
}

/// The raw messages moto's SES "sent", as moto reports them (`raw_data`, `destinations`).
pub async fn sent_raw(endpoint: &str) -> Vec<serde_json::Value> {
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// SDK configuration pointing at moto, and moto's URL.
pub async fn sdk_config() -> (aws_config::SdkConfig, String) {
    let endpoint = endpoint().await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    (config, endpoint)
}
