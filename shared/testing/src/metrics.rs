//! The one reader of the Prometheus text format for every crate's tests, so that "what does
//! `/metrics` say" means the same thing in all of them.

/// The value of metric `name`, summed over its label sets (`name{source="replica"} 3` and
/// `name{source="primary"} 1` give 4); a full label set is part of `name` when a test wants one
/// series, e.g. `order_db_reads_total{source="replica"}`. 0 when absent.
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            match rest.strip_prefix(' ') {
                Some(value) => Some(value),
                None if !name.ends_with('}') => {
                    rest.strip_prefix('{')?.split_once("} ").map(|(_, v)| v)
                }
                None => None,
            }
        })
        .filter_map(|value| value.trim().parse::<f64>().ok())
        .sum()
}

/// The sum of the series of metric `name` that carry every one of `labels` (among others),
/// e.g. `metric_sum(text, "ingest_produce_errors_total", &[("target", "dlq")])`.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix('{')?;
            let (set, value) = rest.split_once("} ")?;
            let has_all = labels.iter().all(|(key, wanted)| {
                set.split(',')
                    .any(|pair| pair == format!("{key}=\"{wanted}\""))
            });
            has_all.then(|| value.trim().parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// The names of every metric with a sample in `text`.
pub fn metric_names(text: &str) -> std::collections::BTreeSet<&str> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP x y\n\
        reads_total{source=\"primary\"} 1\n\
        reads_total{source=\"replica\"} 3\n\
        reads_total_other 9\n\
        errors_total{code=\"a\",target=\"dlq\"} 2\n\
        errors_total{code=\"b\",target=\"dlq\"} 5\n\
        errors_total{code=\"a\",target=\"retry\"} 7\n\
        plain 4\n";

    #[test]
    fn sums_label_sets_or_reads_one_series() {
        assert_eq!(metric_value(TEXT, "reads_total"), 4.0);
        assert_eq!(metric_value(TEXT, "reads_total{source=\"replica\"}"), 3.0);
        assert_eq!(metric_value(TEXT, "plain"), 4.0);
        assert_eq!(metric_value(TEXT, "absent"), 0.0);
    }

    #[test]
    fn sums_the_series_carrying_some_labels() {
        assert_eq!(metric_sum(TEXT, "errors_total", &[("target", "dlq")]), 7.0);
        assert_eq!(metric_sum(TEXT, "errors_total", &[("code", "a")]), 9.0);
        assert_eq!(metric_sum(TEXT, "errors_total", &[]), 14.0);
    }

    #[test]
    fn names_every_sampled_metric() {
        let names: Vec<&str> = metric_names(TEXT).into_iter().collect();
        assert_eq!(
            names,
            ["errors_total", "plain", "reads_total", "reads_total_other"]
        );
    }
}
