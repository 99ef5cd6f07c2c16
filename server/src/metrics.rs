//! Prometheus metrics, kept in one registry per server instance (no globals, so tests can
//! run several servers side by side).

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The method as a label: the standard methods by name, anything else as `other`. A client
/// may send any token as a method, and each distinct label is a new series kept for the life
/// of the process; unbounded labels are unbounded memory.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The matched route pattern (`/api/v1/addresses/{address}`), never the raw path, so the
    /// label set stays small.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// forwarded, undeliverable, rejected, dead_letter, duplicate, retry
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SnsLabels {
    /// What `/sns` did with a message: notification, subscription_confirmed, ignored,
    /// refused_signature, refused_topic, malformed, retry.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedbackLabels {
    /// SES's event type (Bounce, Complaint, Delivery, DeliveryDelay, Reject, Send), or other.
    pub event: String,
    /// updated, unchanged (duplicate or late), unknown (no record carries that send), ignored.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReachabilityLabels {
    /// unreachable (a recipient was marked) or reachable (a delivery cleared its mark).
    pub change: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<HttpLabels, Histogram>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub send_retries: Counter,
    pub sns_messages: Family<SnsLabels, Counter>,
    pub delivery_events: Family<FeedbackLabels, Counter>,
    pub reachability: Family<ReachabilityLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mailvend");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests handled, by route and status",
            http_requests.clone(),
        );
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to produce the response head",
            http_duration.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Recipients of received messages, by where they ended up",
            deliveries.clone(),
        );
        let send_retries = Counter::default();
        registry.register(
            "send_retries",
            "Sends tried again after a transient mailer failure",
            send_retries.clone(),
        );
        let sns_messages = Family::<SnsLabels, Counter>::default();
        registry.register(
            "sns_messages",
            "Messages posted to /sns, by what was done with them",
            sns_messages.clone(),
        );
        let delivery_events = Family::<FeedbackLabels, Counter>::default();
        registry.register(
            "delivery_events",
            "SES delivery events received, by event and what they did to the message log",
            delivery_events.clone(),
        );
        let reachability = Family::<ReachabilityLabels, Counter>::default();
        registry.register(
            "recipient_reachability_changes",
            "Recipients marked unreachable by a bounce or complaint, or cleared by a delivery",
            reachability.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("build_info", "The running version", build);
        Metrics {
            registry,
            http_requests,
            http_duration,
            deliveries,
            send_retries,
            sns_messages,
            delivery_events,
            reachability,
        }
    }

    /// One recipient's end, by the pipeline's name for it (`Delivery::as_str`).
    pub fn delivery(&self, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn sns(&self, result: &str) {
        self.sns_messages
            .get_or_create(&SnsLabels {
                result: result.to_string(),
            })
            .inc();
    }

    /// One delivery event; event names outside SES's list count as `other`, so the label set
    /// stays small whatever a message says.
    pub fn delivery_event(&self, event: &str, result: &str) {
        const KNOWN: &[&str] = &[
            "Bounce",
            "Complaint",
            "Delivery",
            "DeliveryDelay",
            "Reject",
            "Send",
        ];
        let event = if KNOWN.contains(&event) {
            event
        } else {
            "other"
        };
        self.delivery_events
            .get_or_create(&FeedbackLabels {
                event: event.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    pub fn reachability(&self, change: &str) {
        self.reachability
            .get_or_create(&ReachabilityLabels {
                change: change.to_string(),
            })
            .inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::method_label;

    #[test]
    fn only_standard_methods_become_labels() {
        for (method, label) in [
            ("GET", "GET"),
            ("POST", "POST"),
            ("PATCH", "PATCH"),
            ("DELETE", "DELETE"),
            ("OPTIONS", "OPTIONS"),
            ("PROBE3", "other"),
            ("get", "other"),
            ("GETX", "other"),
            ("", "other"),
        ] {
            assert_eq!(method_label(method), label, "{method:?}");
        }
    }
}
