//! Rows of results: one JSON line per run (what a child prints), the
//! median and spread over repetitions, the human table and the SVG chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The result of one run of one workload on one engine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub engine: String,
    pub workload: String,
    pub rep: u32,
    /// Operations of the measured phase.
    pub ops: u64,
    /// Seconds of the measured phase (the wait for idle excluded).
    pub seconds: f64,
    /// User bytes (keys and values) the measured phase wrote or read.
    pub bytes: u64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    /// User bytes written by the measured phase (0 for reads).
    pub user_bytes_written: u64,
    /// Bytes the process passed to write calls from the measured phase's
    /// start to idle (`wchar` of /proc/self/io).
    pub bytes_written: u64,
    /// Bytes the process sent to storage over the same span
    /// (`write_bytes` of /proc/self/io; 0 where the kernel does not count).
    pub storage_bytes_written: u64,
    /// Seconds from the end of the measured phase until the engine was idle.
    pub idle_seconds: f64,
    /// Bytes of the database's files once idle and closed.
    pub disk_bytes: u64,
    /// Resident set size when the measured phase started.
    pub rss_start: u64,
    /// Peak resident set size during the measured phase and the idle wait.
    pub peak_rss: u64,
    /// Workload-specific figures.
    pub extra: Vec<(&'static str, f64)>,
}

impl Row {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-9)
    }

    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    /// Bytes written per user byte written, for workloads that write.
    pub fn write_amp(&self) -> Option<f64> {
        (self.user_bytes_written > 0)
            .then(|| self.bytes_written as f64 / self.user_bytes_written as f64)
    }

    /// One JSON object on one line.
    pub fn to_json(&self) -> String {
        let mut fields: Vec<(&str, Json)> = vec![
            ("type", Json::Str("run".into())),
            ("engine", Json::Str(self.engine.clone())),
            ("workload", Json::Str(self.workload.clone())),
            ("rep", Json::Num(f64::from(self.rep))),
            ("ops", Json::Num(self.ops as f64)),
            ("seconds", Json::Num(self.seconds)),
            ("bytes", Json::Num(self.bytes as f64)),
            ("ops_per_sec", Json::Num(self.ops_per_sec())),
            ("mb_per_sec", Json::Num(self.mb_per_sec())),
            ("p50_us", Json::opt(self.p50_us)),
            ("p99_us", Json::opt(self.p99_us)),
            ("p999_us", Json::opt(self.p999_us)),
            (
                "user_bytes_written",
                Json::Num(self.user_bytes_written as f64),
            ),
            ("bytes_written", Json::Num(self.bytes_written as f64)),
            (
                "storage_bytes_written",
                Json::Num(self.storage_bytes_written as f64),
            ),
            ("write_amp", Json::opt(self.write_amp())),
            ("idle_seconds", Json::Num(self.idle_seconds)),
            ("disk_bytes", Json::Num(self.disk_bytes as f64)),
            ("rss_start", Json::Num(self.rss_start as f64)),
            ("peak_rss", Json::Num(self.peak_rss as f64)),
        ];
        for (name, value) in &self.extra {
            fields.push((name, Json::Num(*value)));
        }
        object(&fields)
    }

    /// Reads a line written by [`Row::to_json`].
    pub fn from_json(line: &str) -> Result<Row, String> {
        let map = parse_flat(line)?;
        let text = |name: &str| match map.get(name) {
            Some(Json::Str(text)) => Ok(text.clone()),
            _ => Err(format!("no string {name:?} in {line}")),
        };
        let number = |name: &str| match map.get(name) {
            Some(Json::Num(number)) => Ok(*number),
            _ => Err(format!("no number {name:?} in {line}")),
        };
        let optional = |name: &str| match map.get(name) {
            Some(Json::Num(number)) => Some(*number),
            _ => None,
        };
        let known = [
            "type",
            "engine",
            "workload",
            "rep",
            "ops",
            "seconds",
            "bytes",
            "ops_per_sec",
            "mb_per_sec",
            "p50_us",
            "p99_us",
            "p999_us",
            "user_bytes_written",
            "bytes_written",
            "storage_bytes_written",
            "write_amp",
            "idle_seconds",
            "disk_bytes",
            "rss_start",
            "peak_rss",
        ];
        let extra = EXTRA
            .iter()
            .filter_map(|name| optional(name).map(|value| (*name, value)))
            .collect();
        if let Some(unknown) = map
            .keys()
            .find(|key| !known.contains(&key.as_str()) && !EXTRA.contains(&key.as_str()))
        {
            return Err(format!("unknown field {unknown:?} in {line}"));
        }
        Ok(Row {
            engine: text("engine")?,
            workload: text("workload")?,
            rep: number("rep")? as u32,
            ops: number("ops")? as u64,
            seconds: number("seconds")?,
            bytes: number("bytes")? as u64,
            p50_us: optional("p50_us"),
            p99_us: optional("p99_us"),
            p999_us: optional("p999_us"),
            user_bytes_written: number("user_bytes_written")? as u64,
            bytes_written: number("bytes_written")? as u64,
            storage_bytes_written: number("storage_bytes_written")? as u64,
            idle_seconds: number("idle_seconds")?,
            disk_bytes: number("disk_bytes")? as u64,
            rss_start: number("rss_start")? as u64,
            peak_rss: number("peak_rss")? as u64,
            extra,
        })
    }
}

/// The workload-specific fields a row may carry.
const EXTRA: &[&str] = &[
    "wal_bytes",
    "live_bytes",
    "tables_before_open",
    "cpu_seconds",
    "entries_read",
    "mixed_reads",
    "mixed_writes",
    "level0_max",
    "level0_last",
    "rss_first_mib",
    "rss_last_mib",
    "rss_max_mib",
    "get_p99_first_us",
    "get_p99_last_us",
    "get_p99_max_us",
    "put_p99_first_us",
    "put_p99_last_us",
    "put_p99_max_us",
];

/// A flat JSON value: all this runner writes.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Str(String),
    Num(f64),
    Null,
}

impl Json {
    pub fn opt(value: Option<f64>) -> Json {
        value.map_or(Json::Null, Json::Num)
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Str(text) => {
                out.push('"');
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Num(number) if number.is_finite() => {
                if number.fract() == 0.0 && number.abs() < 1e15 {
                    let _ = write!(out, "{}", *number as i64);
                } else {
                    let _ = write!(out, "{number}");
                }
            }
            Json::Num(_) | Json::Null => out.push_str("null"),
        }
    }
}

/// A one-line JSON object of `fields`, in order.
pub fn object(fields: &[(&str, Json)]) -> String {
    let mut out = String::from("{");
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        Json::Str((*name).to_owned()).write(&mut out);
        out.push(':');
        value.write(&mut out);
    }
    out.push('}');
    out
}

/// Parses a flat JSON object (strings, numbers and null values only).
fn parse_flat(line: &str) -> Result<BTreeMap<String, Json>, String> {
    let bad = || format!("not a flat JSON object: {line}");
    let mut chars = line.trim().chars().peekable();
    let mut map = BTreeMap::new();
    if chars.next() != Some('{') {
        return Err(bad());
    }
    let read_string = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        if chars.next() != Some('"') {
            return None;
        }
        let mut text = String::new();
        loop {
            match chars.next()? {
                '"' => return Some(text),
                '\\' => match chars.next()? {
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        text.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    other => text.push(other),
                },
                c => text.push(c),
            }
        }
    };
    loop {
        match chars.peek() {
            Some('}') => break,
            Some(',') => {
                chars.next();
            }
            _ => {}
        }
        let name = read_string(&mut chars).ok_or_else(bad)?;
        if chars.next() != Some(':') {
            return Err(bad());
        }
        let value = match chars.peek() {
            Some('"') => Json::Str(read_string(&mut chars).ok_or_else(bad)?),
            _ => {
                let mut token = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '}' {
                        break;
                    }
                    token.push(c);
                    chars.next();
                }
                match token.trim() {
                    "null" => Json::Null,
                    number => Json::Num(number.parse().map_err(|_| bad())?),
                }
            }
        };
        map.insert(name, value);
    }
    Ok(map)
}

/// Median, minimum and maximum of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

/// The figures of one engine on one workload over its repetitions.
#[derive(Clone, Debug)]
pub struct Summary {
    pub engine: String,
    pub workload: String,
    pub reps: usize,
    pub ops_per_sec: Spread,
    pub mb_per_sec: f64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub write_amp: Option<f64>,
    pub disk_bytes: f64,
    pub peak_rss: f64,
    pub rss_growth: f64,
}

fn median_of(rows: &[&Row], value: impl Fn(&Row) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = rows.iter().filter_map(|row| value(row)).collect();
    Spread::of(&values).map(|spread| spread.median)
}

impl Summary {
    pub fn of(rows: &[&Row]) -> Option<Summary> {
        let first = rows.first()?;
        Some(Summary {
            engine: first.engine.clone(),
            workload: first.workload.clone(),
            reps: rows.len(),
            ops_per_sec: Spread::of(&rows.iter().map(|row| row.ops_per_sec()).collect::<Vec<_>>())?,
            mb_per_sec: median_of(rows, |row| Some(row.mb_per_sec())).unwrap_or(0.0),
            p50_us: median_of(rows, |row| row.p50_us),
            p99_us: median_of(rows, |row| row.p99_us),
            p999_us: median_of(rows, |row| row.p999_us),
            write_amp: median_of(rows, Row::write_amp),
            disk_bytes: median_of(rows, |row| Some(row.disk_bytes as f64)).unwrap_or(0.0),
            peak_rss: median_of(rows, |row| Some(row.peak_rss as f64)).unwrap_or(0.0),
            rss_growth: median_of(rows, |row| {
                Some(row.peak_rss.saturating_sub(row.rss_start) as f64)
            })
            .unwrap_or(0.0),
        })
    }

    pub fn to_json(&self) -> String {
        object(&[
            ("type", Json::Str("summary".into())),
            ("engine", Json::Str(self.engine.clone())),
            ("workload", Json::Str(self.workload.clone())),
            ("reps", Json::Num(self.reps as f64)),
            ("ops_per_sec_median", Json::Num(self.ops_per_sec.median)),
            ("ops_per_sec_min", Json::Num(self.ops_per_sec.min)),
            ("ops_per_sec_max", Json::Num(self.ops_per_sec.max)),
            ("mb_per_sec_median", Json::Num(self.mb_per_sec)),
            ("p50_us_median", Json::opt(self.p50_us)),
            ("p99_us_median", Json::opt(self.p99_us)),
            ("p999_us_median", Json::opt(self.p999_us)),
            ("write_amp_median", Json::opt(self.write_amp)),
            ("disk_bytes_median", Json::Num(self.disk_bytes)),
            ("peak_rss_median", Json::Num(self.peak_rss)),
            ("rss_growth_median", Json::Num(self.rss_growth)),
        ])
    }
}

/// Strata's throughput over RocksDB's on one workload: the ratio of the
/// medians, and the spread of the per-repetition ratios (repetition i of
/// one engine against repetition i of the other).
#[derive(Clone, Debug)]
pub struct Ratio {
    pub workload: String,
    pub of_medians: f64,
    pub paired: Spread,
}

impl Ratio {
    pub fn of(workload: &str, strata: &[&Row], rocksdb: &[&Row]) -> Option<Ratio> {
        let a = Spread::of(
            &strata
                .iter()
                .map(|row| row.ops_per_sec())
                .collect::<Vec<_>>(),
        )?;
        let b = Spread::of(
            &rocksdb
                .iter()
                .map(|row| row.ops_per_sec())
                .collect::<Vec<_>>(),
        )?;
        let paired: Vec<f64> = strata
            .iter()
            .filter_map(|s| {
                rocksdb
                    .iter()
                    .find(|r| r.rep == s.rep)
                    .map(|r| s.ops_per_sec() / r.ops_per_sec())
            })
            .collect();
        Some(Ratio {
            workload: workload.to_owned(),
            of_medians: a.median / b.median,
            paired: Spread::of(&paired)?,
        })
    }

    pub fn to_json(&self) -> String {
        object(&[
            ("type", Json::Str("ratio".into())),
            ("workload", Json::Str(self.workload.clone())),
            ("strata_over_rocksdb", Json::Num(self.of_medians)),
            ("paired_min", Json::Num(self.paired.min)),
            ("paired_median", Json::Num(self.paired.median)),
            ("paired_max", Json::Num(self.paired.max)),
        ])
    }
}

fn si(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

fn micros(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(us) if us >= 1000.0 => format!("{:.1}ms", us / 1000.0),
        Some(us) => format!("{us:.1}"),
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / f64::from(1 << 20))
}

/// The human table: one line per engine and workload, then the ratio.
pub fn table(summaries: &[Summary], ratios: &[Ratio]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:<8} {:>9} {:>19} {:>8} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9}",
        "workload",
        "engine",
        "ops/s",
        "(min-max)",
        "MB/s",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "w-amp",
        "disk MiB",
        "peak MiB",
        "+RSS MiB"
    );
    let mut workloads: Vec<&str> = Vec::new();
    for summary in summaries {
        if !workloads.contains(&summary.workload.as_str()) {
            workloads.push(&summary.workload);
        }
    }
    for workload in workloads {
        for summary in summaries.iter().filter(|s| s.workload == workload) {
            let _ = writeln!(
                out,
                "{:<12} {:<8} {:>9} {:>19} {:>8.1} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9}",
                workload,
                summary.engine,
                si(summary.ops_per_sec.median),
                format!(
                    "({}-{})",
                    si(summary.ops_per_sec.min),
                    si(summary.ops_per_sec.max)
                ),
                summary.mb_per_sec,
                micros(summary.p50_us),
                micros(summary.p99_us),
                micros(summary.p999_us),
                summary
                    .write_amp
                    .map_or_else(|| "-".to_owned(), |amp| format!("{amp:.2}")),
                mib(summary.disk_bytes),
                mib(summary.peak_rss),
                mib(summary.rss_growth),
            );
        }
        if let Some(ratio) = ratios.iter().find(|r| r.workload == workload) {
            let _ = writeln!(
                out,
                "{:<12} {:<8} {:>8.2}x {:>19}",
                "",
                "ratio",
                ratio.of_medians,
                format!("({:.2}-{:.2})", ratio.paired.min, ratio.paired.max)
            );
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart of the ratios on a log-2 axis centred on 1,
/// with the per-repetition spread as a whisker.
pub fn svg(ratios: &[Ratio], title: &str, subtitles: &[String]) -> String {
    const WIDTH: f64 = 760.0;
    const LABEL: f64 = 130.0;
    const ROW: f64 = 26.0;
    let top = 48.0 + 16.0 * subtitles.len() as f64;
    let plot = WIDTH - LABEL - 70.0;
    let extreme = ratios
        .iter()
        .flat_map(|r| [r.of_medians, r.paired.min, r.paired.max])
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| v.log2().abs())
        .fold(1.0f64, f64::max)
        .ceil();
    let x = |ratio: f64| {
        let log = ratio.max(f64::MIN_POSITIVE).log2().clamp(-extreme, extreme);
        LABEL + plot / 2.0 + log / extreme * plot / 2.0
    };
    let height = top + ROW * ratios.len() as f64 + 50.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        10,
        escape(title)
    );
    for (index, subtitle) in subtitles.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text x="10" y="{}" fill="#555555">{}</text>"##,
            40 + 16 * index,
            escape(subtitle)
        );
    }
    let bottom = top + ROW * ratios.len() as f64;
    let mut tick = -extreme;
    while tick <= extreme {
        let ratio = tick.exp2();
        let at = x(ratio);
        let label = if ratio >= 1.0 {
            format!("{ratio:.0}x")
        } else {
            format!("1/{:.0}x", 1.0 / ratio)
        };
        let stroke = if tick == 0.0 { "#000000" } else { "#dddddd" };
        let _ = writeln!(
            out,
            r#"<line x1="{at:.1}" y1="{:.1}" x2="{at:.1}" y2="{bottom:.1}" stroke="{stroke}"/>"#,
            top - 6.0
        );
        let _ = writeln!(
            out,
            r##"<text x="{at:.1}" y="{:.1}" text-anchor="middle" fill="#555555">{label}</text>"##,
            bottom + 16.0
        );
        tick += 1.0;
    }
    for (index, ratio) in ratios.iter().enumerate() {
        let y = top + ROW * index as f64;
        let one = x(1.0);
        let end = x(ratio.of_medians);
        let (left, width) = if end >= one {
            (one, end - one)
        } else {
            (end, one - end)
        };
        let fill = if ratio.of_medians >= 1.0 {
            "#3a7d44"
        } else {
            "#b5443b"
        };
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL - 8.0,
            y + ROW / 2.0 + 4.0,
            escape(&ratio.workload)
        );
        let _ = writeln!(
            out,
            r#"<rect x="{left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{fill}"/>"#,
            y + 5.0,
            ROW - 10.0
        );
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#222222"/>"##,
            x(ratio.paired.min),
            y + ROW / 2.0,
            x(ratio.paired.max),
            y + ROW / 2.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{:.2}x</text>"#,
            x(ratio.paired.max.max(ratio.of_medians)).max(one) + 6.0,
            y + ROW / 2.0 + 4.0,
            ratio.of_medians
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="10" y="{:.1}" fill="#555555">Strata ops/s over RocksDB ops/s (ratio of medians; whisker: per-repetition ratios). Right of 1x: Strata faster.</text>"##,
        bottom + 36.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_json() {
        let row = Row {
            engine: "strata".into(),
            workload: "reopen".into(),
            rep: 2,
            ops: 1000,
            seconds: 0.25,
            bytes: 116_000,
            p50_us: Some(1.5),
            p99_us: None,
            p999_us: Some(1e4),
            user_bytes_written: 116_000,
            bytes_written: 250_000,
            storage_bytes_written: 0,
            idle_seconds: 0.001,
            disk_bytes: 123_456,
            rss_start: 1 << 20,
            peak_rss: 3 << 20,
            extra: vec![("wal_bytes", 130_000.0), ("tables_before_open", 0.0)],
        };
        assert_eq!(Row::from_json(&row.to_json()), Ok(row));
        assert!(Row::from_json("{\"engine\":\"x\"}").is_err());
    }

    #[test]
    fn spread_and_median() {
        let spread = Spread::of(&[3.0, 1.0, 2.0]).expect("values");
        assert_eq!((spread.median, spread.min, spread.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of(&[1.0, 4.0]).expect("values").median, 2.5);
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn chart_has_a_bar_per_workload() {
        let ratio = |workload: &str, value: f64| Ratio {
            workload: workload.into(),
            of_medians: value,
            paired: Spread {
                median: value,
                min: value * 0.9,
                max: value * 1.1,
            },
        };
        let chart = svg(
            &[ratio("fillseq", 2.5), ratio("readrandom", 0.3)],
            "title <x>",
            &["sub".to_owned(), "options".to_owned()],
        );
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>\n"));
        assert_eq!(chart.matches("<rect").count(), 3);
        assert!(chart.contains("title &lt;x&gt;") && chart.contains("2.50x"));
    }
}
