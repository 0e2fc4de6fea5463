//! CloudWatch metrics as Embedded Metric Format log lines: no API call, no extra permission.
//!
//! Format: "Specification: Embedded metric format" in the CloudWatch User Guide. One line per
//! flush, printed to stdout, which Lambda sends to CloudWatch Logs.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace of every Offsite metric.
pub const NAMESPACE: &str = "Offsite";

/// A set of counts for one function invocation, flushed as one EMF line.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    dimensions: BTreeMap<String, String>,
    values: BTreeMap<String, f64>,
}

impl Metrics {
    /// Metrics with one dimension, e.g. `("Function", "exporter")`.
    pub fn new(dimension: &str, value: &str) -> Self {
        Self::with_dimensions(&[(dimension, value)])
    }

    /// Metrics with several dimensions, e.g. source account and database.
    pub fn with_dimensions(dimensions: &[(&str, &str)]) -> Self {
        Self {
            dimensions: dimensions.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            values: BTreeMap::new(),
        }
    }

    /// One line per source database, `name` set to its value, under the dimensions
    /// `SourceAccount` and `SourceDatabase` (what the per-database alarms and dashboards
    /// select on).
    pub fn per_database<'a>(
        name: &str,
        values: impl IntoIterator<Item = (&'a crate::lineage::DatabaseKey, f64)>,
    ) -> Vec<Self> {
        values
            .into_iter()
            .map(|(database, value)| {
                let mut line = Self::with_dimensions(&[
                    ("SourceAccount", database.account.as_str()),
                    ("SourceDatabase", database.database.as_str()),
                ]);
                line.add(name, value);
                line
            })
            .collect()
    }

    /// The same metrics under one more dimension (e.g. `Region` for the second Region's
    /// figures, which must not mix with the vault's own).
    pub fn with_dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets `name` to the greater of its value and `value` (a maximum, e.g. an age).
    pub fn max(&mut self, name: &str, value: f64) {
        let entry = self.values.entry(name.to_owned()).or_insert(value);
        *entry = entry.max(value);
    }

    /// Adds `value` to `name` (a count).
    pub fn add(&mut self, name: &str, value: f64) {
        *self.values.entry(name.to_owned()).or_default() += value;
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> f64 {
        self.values.get(name).copied().unwrap_or_default()
    }

    /// The EMF JSON document for the current values.
    pub fn to_emf(&self) -> serde_json::Value {
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
        let names: Vec<_> = self.values.keys().map(|n| serde_json::json!({ "Name": n, "Unit": "Count" })).collect();
        let mut doc = serde_json::json!({
            "_aws": {
                "Timestamp": u64::try_from(timestamp).unwrap_or(u64::MAX),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [self.dimensions.keys().collect::<Vec<_>>()],
                    "Metrics": names,
                }],
            },
        });
        if let Some(object) = doc.as_object_mut() {
            for (k, v) in &self.dimensions {
                object.insert(k.clone(), serde_json::json!(v));
            }
            for (k, v) in &self.values {
                object.insert(k.clone(), serde_json::json!(v));
            }
        }
        doc
    }

    /// Prints the EMF line to stdout.
    pub fn flush(&self) {
        println!("{}", self.to_emf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_and_dimension() {
        let mut metrics = Metrics::new("Function", "exporter");
        metrics.add("CopiesStarted", 2.0);
        metrics.add("CopiesStarted", 1.0);
        metrics.add("Skipped", 4.0);
        let doc = metrics.to_emf();
        assert_eq!(doc["Function"], "exporter");
        assert_eq!(doc["CopiesStarted"], 3.0);
        assert_eq!(doc["Skipped"], 4.0);
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "Offsite");
        assert_eq!(declared["Dimensions"][0][0], "Function");
        assert_eq!(declared["Metrics"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn another_dimension_and_a_maximum() {
        let mut metrics = Metrics::new("Function", "restore-test").with_dimension("Region", "us-west-2");
        metrics.max("AgeSeconds", 5.0);
        metrics.max("AgeSeconds", 3.0);
        metrics.max("AgeSeconds", 9.0);
        let doc = metrics.to_emf();
        assert_eq!((doc["Function"].as_str(), doc["Region"].as_str()), (Some("restore-test"), Some("us-west-2")));
        assert_eq!(doc["AgeSeconds"], 9.0);
        let declared = &doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0];
        assert_eq!(declared.as_array().map(Vec::len), Some(2));
    }
}
