//! Helpers for tests that need real services.

pub mod moto {
    use std::time::Duration;

    /// A moto server for this test process, started on first use from the venv that
    /// `scripts/bootstrap.sh test` makes (or `MAILVEND_TEST_MOTO_URL`).
    pub async fn endpoint() -> String {
        static ENDPOINT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        ENDPOINT
            .get_or_init(|| async {
                if let Ok(url) = std::env::var("MAILVEND_TEST_MOTO_URL") {
                    return url;
                }
                let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
                let bin = root.join(".venv-moto/bin/moto_server");
                assert!(
                    bin.exists(),
                    "{} is missing: run `scripts/bootstrap.sh test` (make test does) to install the moto server",
                    bin.display()
                );
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port();
                // A small shell stays with moto and stops it once this test process is gone,
                // so no test run leaves a server behind.
                let watchdog = std::process::Command::new("sh")
                    .args([
                        "-c",
                        "\"$1\" -H 127.0.0.1 -p \"$2\" >/dev/null 2>&1 & m=$!; \
                         while kill -0 \"$PPID\" 2>/dev/null; do sleep 1; done; kill \"$m\"",
                        "moto-watchdog",
                    ])
                    .arg(&bin)
                    .arg(port.to_string())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("start moto_server");
                // Owned for the life of the process; it ends itself when the process does.
                static WATCHDOG: std::sync::OnceLock<std::sync::Mutex<std::process::Child>> =
                    std::sync::OnceLock::new();
                let _ = WATCHDOG.set(std::sync::Mutex::new(watchdog));
                for _ in 0..200 {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return format!("http://127.0.0.1:{port}");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("moto_server did not start on port {port}");
            })
            .await
            .clone()
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
}
