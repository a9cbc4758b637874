//! TensorBoard event files beside a run's `metrics.jsonl`: every number of
//! every metrics line becomes a scalar (`train/loss`, `eval/action_mse`, …)
//! at the line's step, so `tensorboard --logdir runs/` shows each run.
//!
//! The format is TensorFlow's: a file named `events.out.tfevents.*` of
//! TFRecord records (length, masked CRC-32C of the length, an `Event`
//! protobuf, masked CRC-32C of it), the first event naming the file
//! version. The messages are the few fields of TensorFlow's
//! `event.proto` / `summary.proto` that scalars need.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

/// `tensorflow.Event`: wall time, step, and what happened.
#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "What", tags = "3, 5")]
    what: Option<What>,
}

/// `Event.what`.
#[derive(Clone, PartialEq, prost::Oneof)]
enum What {
    /// The first event of a file.
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// Scalars.
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<Value>,
}

/// `tensorflow.Summary.Value` with a `simple_value` (always written, even
/// when 0: it is one case of a oneof).
#[derive(Clone, PartialEq, prost::Message)]
struct Value {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
}

/// The CRC TFRecord stores: CRC-32C, rotated and offset.
fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Seconds since the Unix epoch.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether `name` is a TensorBoard event file.
fn is_events_file(name: &str) -> bool {
    name.starts_with("events.out.tfevents.")
}

/// One run's TensorBoard event file.
#[derive(Debug)]
pub struct EventsFile {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl EventsFile {
    /// Starts a new event file in `dir`, replacing the ones there (a
    /// resumed run writes again what its metrics file kept).
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if is_events_file(&entry.file_name().to_string_lossy()) {
                std::fs::remove_file(entry.path())?;
            }
        }
        let wall = now();
        let path = dir.join(format!("events.out.tfevents.{}.lam", wall as u64));
        let file = std::fs::File::create(&path)?;
        let mut events = Self {
            path,
            out: std::io::BufWriter::new(file),
        };
        events.record(&Event {
            wall_time: wall,
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        })?;
        Ok(events)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, event: &Event) -> std::io::Result<()> {
        let data = event.encode_to_vec();
        let len = (data.len() as u64).to_le_bytes();
        self.out.write_all(&len)?;
        self.out.write_all(&masked_crc(&len).to_le_bytes())?;
        self.out.write_all(&data)?;
        self.out.write_all(&masked_crc(&data).to_le_bytes())
    }

    /// Writes the numbers of one metrics line (a JSON object with a
    /// `step`) as scalars: top-level numbers as `train/NAME`, numbers of a
    /// nested object `OBJ` as `OBJ/NAME`; other values are left out.
    pub fn line(&mut self, line: &serde_json::Value) -> std::io::Result<()> {
        let Some(object) = line.as_object() else {
            return Ok(());
        };
        let step = object.get("step").and_then(|s| s.as_i64()).unwrap_or(0);
        let mut value = Vec::new();
        for (key, v) in object.iter().filter(|(k, _)| *k != "step") {
            match v {
                serde_json::Value::Number(n) => value.push(Value {
                    tag: format!("train/{key}"),
                    simple_value: n.as_f64().map(|x| x as f32),
                }),
                serde_json::Value::Object(inner) => {
                    for (name, x) in inner {
                        if let Some(x) = x.as_f64() {
                            value.push(Value {
                                tag: format!("{key}/{name}"),
                                simple_value: Some(x as f32),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        if value.is_empty() {
            return Ok(());
        }
        self.record(&Event {
            wall_time: now(),
            step,
            what: Some(What::Summary(Summary { value })),
        })
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TFRecord's CRC on known bytes (the masked CRC-32C of an empty
    /// string and of the 8 length bytes of 0), and records that read back
    /// with their lengths and checksums.
    #[test]
    fn records_are_framed_as_tensorflow_reads_them() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b""), 0xa282_ead8);
        let dir = std::env::temp_dir().join(format!("lam-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("events.out.tfevents.1.old"), b"stale").unwrap();
        let mut e = EventsFile::create(&dir).unwrap();
        e.line(&serde_json::json!({"step": 3, "loss": 0.0, "note": "x", "eval": {"mse": 2.5}}))
            .unwrap();
        e.flush().unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1, "the stale file is replaced");
        let bytes = std::fs::read(e.path()).unwrap();
        let mut at = 0;
        let mut events = Vec::new();
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(crc, masked_crc(&bytes[at..at + 8]));
            let data = &bytes[at + 12..at + 12 + len];
            let crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(crc, masked_crc(data));
            events.push(Event::decode(data).unwrap());
            at += 16 + len;
        }
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].what,
            Some(What::FileVersion("brain.Event:2".into()))
        );
        assert_eq!(events[1].step, 3);
        let Some(What::Summary(s)) = &events[1].what else {
            panic!("{:?}", events[1]);
        };
        let mut tags: Vec<(&str, Option<f32>)> = s
            .value
            .iter()
            .map(|v| (v.tag.as_str(), v.simple_value))
            .collect();
        tags.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(tags, [("eval/mse", Some(2.5)), ("train/loss", Some(0.0))]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
