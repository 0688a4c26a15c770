//! The change log of exclusive mode: what the writer has acknowledged but not yet put into the
//! SQLite file.
//!
//! Each write-out appends one line to the current segment (`<db>.changes.<n>`): a JSON array
//! of the rows changed since the last one, per table, each row whole (as the SQLite row would
//! hold it), and the keys deleted. Appending is one `write` of the whole line to the operating
//! system, which keeps it whatever becomes of the process (the log serves
//! [`Durability::Batched`](super::Durability::Batched), which promises nothing across a power
//! loss); a process that dies in the middle of it leaves an incomplete last line, which was
//! never acknowledged and is dropped at replay.
//!
//! A checkpoint ([`super::begin_checkpoint`], then beside the writer
//! [`super::finish_checkpoint`]) starts a new segment, writes the rows the older segments name
//! into SQLite in one transaction, then deletes those segments. At start-up every
//! segment left (a crash, or a checkpoint that failed) is replayed into SQLite in order, in one
//! transaction, before the tables are loaded: each line holds whole rows and deletions, so
//! applying a line twice, or applying it over a newer checkpoint, ends in the same state.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Batch, StoreError, StoreResult, TABLES, Val};

/// The segment files of `db`, oldest first.
pub(super) fn segments(db: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let Some(dir) = db.parent() else {
        return Ok(Vec::new());
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = segment_prefix(db);
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((n, e.path()));
    }
    found.sort();
    Ok(found)
}

fn segment_prefix(db: &Path) -> String {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}.changes.")
}

fn segment_path(db: &Path, n: u64) -> PathBuf {
    db.with_file_name(format!("{}{n:06}", segment_prefix(db)))
}

/// One table's changes in a line, as read back.
#[derive(Deserialize)]
struct EntryIn {
    t: String,
    #[serde(default)]
    rows: Vec<Vec<Box<RawValue>>>,
    #[serde(default)]
    gone: Vec<String>,
}

/// The open change log.
#[derive(Debug)]
pub(super) struct Journal {
    db: PathBuf,
    segment: u64,
    file: File,
    bytes: u64,
    /// Set when the rows of a failed checkpoint could not be read back from its segments: no
    /// segment is removed any more, so the next start replays them all, in order.
    pinned: bool,
}

impl Journal {
    /// Starts a new segment numbered after every existing one.
    pub(super) fn open(db: &Path) -> std::io::Result<Self> {
        let next = segments(db)?.last().map_or(1, |(n, _)| n + 1);
        Ok(Self {
            db: db.to_path_buf(),
            segment: next,
            file: Self::create(db, next)?,
            bytes: 0,
            pinned: false,
        })
    }

    fn create(db: &Path, n: u64) -> std::io::Result<File> {
        OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(segment_path(db, n))
    }

    /// Bytes in the current segment.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends one line (from [`encode`]).
    pub(super) fn write(&mut self, line: &[u8]) -> StoreResult<()> {
        self.file.write_all(line).map_err(StoreError::Journal)?;
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Starts a new segment; returns the number of the last one written, which a checkpoint
    /// may remove (with every older one) once SQLite holds what it named.
    pub(super) fn rotate(&mut self) -> StoreResult<u64> {
        let next = self.segment + 1;
        self.file = Self::create(&self.db, next).map_err(StoreError::Journal)?;
        self.bytes = 0;
        Ok(std::mem::replace(&mut self.segment, next))
    }

    /// The database file the log is beside.
    pub(super) fn db(&self) -> &Path {
        &self.db
    }

    /// Keeps every segment from now on (see `pinned`).
    pub(super) fn pin(&mut self) {
        self.pinned = true;
    }

    /// Deletes every segment numbered up to `upto` (none once pinned).
    pub(super) fn remove_upto(&self, upto: u64) -> StoreResult<()> {
        if self.pinned {
            tracing::warn!("keeping the change log for the next start to replay");
            return Ok(());
        }
        for (n, path) in segments(&self.db).map_err(StoreError::Journal)? {
            if n <= upto {
                std::fs::remove_file(path).map_err(StoreError::Journal)?;
            }
        }
        Ok(())
    }
}

/// The line holding `batches`, `None` when they change nothing: a JSON array of one object per
/// table changed, `{"t": table, "rows": [[column values]], "gone": [keys]}` (an empty `rows` or
/// `gone` left out), where a [`Val::Json`] column is its JSON document itself.
pub(super) fn encode(batches: &[Batch]) -> StoreResult<Option<Vec<u8>>> {
    let mut line = Vec::with_capacity(256);
    line.push(b'[');
    for b in batches.iter().filter(|b| !b.rows.is_empty() || !b.gone.is_empty()) {
        if line.len() > 1 {
            line.push(b',');
        }
        line.extend_from_slice(br#"{"t":"#);
        serde_json::to_writer(&mut line, b.table)?;
        if !b.rows.is_empty() {
            line.extend_from_slice(br#","rows":["#);
            for (i, row) in b.rows.iter().enumerate() {
                line.extend_from_slice(if i == 0 { b"[" } else { b",[" });
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        line.push(b',');
                    }
                    match v {
                        Val::Int(n) => line.extend_from_slice(n.to_string().as_bytes()),
                        // An object or array on one line goes in as it is; it reads back as
                        // JSON. Anything else (a bare string or number would read back as a
                        // value, not as its JSON text; a line break would cut the line) goes in
                        // as a string, which reads back as the same text.
                        Val::Json(doc) if inline(doc) => line.extend_from_slice(doc.as_bytes()),
                        Val::Text(s) | Val::Json(s) => serde_json::to_writer(&mut line, s)?,
                    }
                }
                line.push(b']');
            }
            line.push(b']');
        }
        if !b.gone.is_empty() {
            line.extend_from_slice(br#","gone":"#);
            serde_json::to_writer(&mut line, &b.gone)?;
        }
        line.push(b'}');
    }
    if line.len() == 1 {
        return Ok(None);
    }
    line.extend_from_slice(b"]\n");
    Ok(Some(line))
}

/// Whether a [`Val::Json`] document goes into a line as it is: an object or an array, with no
/// line break (compact `serde_json` output never has one).
fn inline(doc: &str) -> bool {
    doc.starts_with(['{', '[']) && !doc.contains('\n')
}

/// A column value of a line: a string, an integer, or a JSON document (an object or array).
fn value(raw: &RawValue) -> StoreResult<Val> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => Val::Text(serde_json::from_str(text)?),
        Some(b'{' | b'[') => Val::Json(text.to_owned()),
        _ => Val::Int(serde_json::from_str(text)?),
    })
}

/// Reads every segment of `db`, oldest first, into the batches of its lines, in order. An
/// incomplete last line of the newest segment (its write was cut by a crash, so it was never
/// acknowledged) is dropped; any other line that cannot be read is an error.
pub(super) fn read_all(db: &Path) -> StoreResult<(Vec<Vec<Batch>>, Vec<PathBuf>)> {
    read_upto(db, u64::MAX)
}

/// [`read_all`] of the segments numbered up to `upto`.
pub(super) fn read_upto(db: &Path, upto: u64) -> StoreResult<(Vec<Vec<Batch>>, Vec<PathBuf>)> {
    let mut segs = segments(db).map_err(StoreError::Journal)?;
    segs.retain(|(n, _)| *n <= upto);
    let mut lines = Vec::new();
    let last = segs.len().saturating_sub(1);
    for (i, (_, path)) in segs.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(StoreError::Journal)?;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|b| *b == b'\n') else {
                if i == last {
                    tracing::warn!(segment = %path.display(), "dropping the incomplete last change of the log");
                    break;
                }
                return Err(StoreError::Journal(std::io::Error::other(format!(
                    "{}: an incomplete line in a segment that is not the newest",
                    path.display()
                ))));
            };
            let entries: Vec<EntryIn> = serde_json::from_slice(&rest[..end])?;
            let mut batches = Vec::with_capacity(entries.len());
            for e in entries {
                let Some(&(table, cols, key)) = TABLES.iter().find(|(t, _, _)| *t == e.t) else {
                    return Err(StoreError::Journal(std::io::Error::other(format!(
                        "{}: unknown table `{}`",
                        path.display(),
                        e.t
                    ))));
                };
                let rows = e
                    .rows
                    .iter()
                    .map(|row| row.iter().map(|v| value(v)).collect::<StoreResult<Vec<Val>>>())
                    .collect::<StoreResult<_>>()?;
                batches.push(Batch {
                    table,
                    cols,
                    key,
                    rows,
                    gone: e.gone,
                });
            }
            lines.push(batches);
            rest = &rest[end + 1..];
        }
    }
    Ok((lines, segs.into_iter().map(|(_, p)| p).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(key: &str, value: &str) -> Batch {
        Batch {
            table: "tickets",
            cols: TABLES[3].1,
            key: "hash",
            rows: vec![vec![Val::Text(key.into()), Val::Json(value.into()), Val::Int(7)]],
            gone: vec!["old".into()],
        }
    }

    #[test]
    fn lines_come_back_in_order_across_segments() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("uma.db");
        let mut j = Journal::open(&db).unwrap();
        j.write(&encode(&[batch("a", "{}")]).unwrap().unwrap()).unwrap();
        let old = j.rotate().unwrap();
        j.write(&encode(&[batch("b", "[2]")]).unwrap().unwrap()).unwrap();

        // Act
        let (lines, paths) = read_all(&db).unwrap();

        // Assert
        assert_eq!(old, 1);
        assert_eq!(paths.len(), 2);
        let keys: Vec<&Val> = lines.iter().map(|l| &l[0].rows[0][0]).collect();
        assert!(matches!(keys[..], [Val::Text(a), Val::Text(b)] if a == "a" && b == "b"));
        assert_eq!(lines[1][0].gone, ["old"]);
        assert_eq!(lines[1][0].table, "tickets");
        j.remove_upto(old).unwrap();
        assert_eq!(read_all(&db).unwrap().1.len(), 1);
    }

    #[test]
    fn every_kind_of_value_comes_back_as_it_went_in() {
        // Arrange: a JSON document with characters a string of it would escape, documents that
        // cannot go in as they are (a bare string, a line break between members), and a line
        // of the earlier format (the document as a string of it).
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("uma.db");
        let doc = r#"{"a":"line\nbreak \"quoted\" é","n":[1,-2.5e3,18446744073709551615]}"#;
        let (bare, broken) = (r#""a string""#, "{\"a\":1,\n\"b\":2}");
        let row = vec![
            Val::Text("k \"1\"\n".into()),
            Val::Json(doc.into()),
            Val::Int(-7),
            Val::Json(bare.into()),
            Val::Json(broken.into()),
        ];
        let mut j = Journal::open(&db).unwrap();
        let line = encode(&[Batch {
            rows: vec![row],
            ..batch("unused", "{}")
        }])
        .unwrap()
        .unwrap();
        j.write(&line).unwrap();
        j.write(br#"[{"t":"tickets","rows":[["old","{\"x\":1}",3]]}]"#).unwrap();
        j.write(b"\n").unwrap();

        // Act
        let (lines, _) = read_all(&db).unwrap();

        // Assert
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1, "one line");
        assert_eq!(
            lines[0][0].rows[0],
            [
                Val::Text("k \"1\"\n".into()),
                Val::Json(doc.into()),
                Val::Int(-7),
                // The same text, bound the same way.
                Val::Text(bare.into()),
                Val::Text(broken.into()),
            ]
        );
        assert_eq!(
            lines[1][0].rows[0],
            [Val::Text("old".into()), Val::Text(r#"{"x":1}"#.into()), Val::Int(3)]
        );
    }

    #[test]
    fn an_incomplete_last_line_is_dropped_and_one_elsewhere_is_refused() {
        // Arrange: a write cut short by a crash.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("uma.db");
        let mut j = Journal::open(&db).unwrap();
        j.write(&encode(&[batch("a", "{}")]).unwrap().unwrap()).unwrap();
        j.file.write_all(br#"[{"t":"tickets","rows":[["b""#).unwrap();

        // Act
        let (lines, _) = read_all(&db).unwrap();

        // Assert
        assert_eq!(lines.len(), 1);

        // Arrange: the cut segment is no longer the newest.
        j.rotate().unwrap();
        j.write(&encode(&[batch("c", "[3]")]).unwrap().unwrap()).unwrap();

        // Act / Assert
        assert!(read_all(&db).is_err());
    }
}
