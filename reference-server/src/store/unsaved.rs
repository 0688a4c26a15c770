//! The rows of the change log not yet in the SQLite file, which the next checkpoint commits.

use foldhash::HashMap;

use super::{Batch, TABLES, Val};

/// The rows the change log holds and SQLite does not yet: per table (in the order of
/// [`TABLES`]), the newest row written for each key, `None` for a deletion. A checkpoint
/// commits them as they are, so it neither reads the tables again nor encodes a row twice.
/// They take about twice the memory of the log segments they stand for, which a checkpoint
/// keeps under 64 MiB or so (its threshold plus what arrives while it runs).
#[derive(Default, Clone)]
pub(super) struct Unsaved([HashMap<String, Option<Vec<Val>>>; 7]);

impl Unsaved {
    pub(super) fn is_empty(&self) -> bool {
        self.0.iter().all(HashMap::is_empty)
    }

    /// Takes in the rows of a write-out (or a line of the log) that followed every one already
    /// here.
    pub(super) fn add(&mut self, batches: impl IntoIterator<Item = Batch>) {
        for b in batches {
            let Some(rows) = TABLES.iter().position(|t| t.0 == b.table).map(|i| &mut self.0[i]) else {
                continue;
            };
            for row in b.rows {
                if let Some(Val::Text(k)) = row.first() {
                    rows.insert(k.clone(), Some(row));
                }
            }
            for k in b.gone {
                rows.insert(k, None);
            }
        }
    }

    /// Puts back the rows of a checkpoint that failed: older than every row here.
    pub(super) fn put_back(&mut self, older: Unsaved) {
        for (rows, old) in self.0.iter_mut().zip(older.0) {
            for (k, row) in old {
                rows.entry(k).or_insert(row);
            }
        }
    }

    /// The batches committing these rows, each in the order of its keys: SQLite then walks
    /// each table's key index from one end to the other instead of jumping about it. With the
    /// rows moved rather than copied, `cargo bench -p uma-reference-server --bench checkpoint
    /// -- --run` went from 10.8-13.8 µs of CPU per RPT row to 6.3-7.0.
    pub(super) fn into_batches(self) -> [Batch; 7] {
        let mut tables = self.0.into_iter();
        std::array::from_fn(|i| {
            let (table, cols, key) = TABLES[i];
            let mut keyed: Vec<(String, Option<Vec<Val>>)> = tables.next().unwrap_or_default().into_iter().collect();
            keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let (mut rows, mut gone) = (Vec::new(), Vec::new());
            for (k, row) in keyed {
                match row {
                    Some(row) => rows.push(row),
                    None => gone.push(k),
                }
            }
            Batch {
                table,
                cols,
                key,
                rows,
                gone,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tickets(rows: &[(&str, i64)], gone: &[&str]) -> [Batch; 7] {
        std::array::from_fn(|i| Batch {
            table: TABLES[i].0,
            cols: TABLES[i].1,
            key: TABLES[i].2,
            rows: if i == 3 {
                rows.iter()
                    .map(|(k, exp)| vec![Val::Text((*k).into()), Val::Json("{}".into()), Val::Int(*exp)])
                    .collect()
            } else {
                Vec::new()
            },
            gone: if i == 3 {
                gone.iter().map(|k| (*k).to_string()).collect()
            } else {
                Vec::new()
            },
        })
    }

    /// The ticket rows a checkpoint of `u` would upsert (key, expiry), and the keys it deletes,
    /// checked to come in the order of their keys.
    fn due(u: &Unsaved) -> (Vec<(String, i64)>, Vec<String>) {
        let [_, _, _, b, ..] = u.clone().into_batches();
        let rows: Vec<(String, i64)> = b
            .rows
            .iter()
            .map(|r| match (&r[0], &r[2]) {
                (Val::Text(k), Val::Int(exp)) => (k.clone(), *exp),
                other => panic!("unexpected row {other:?}"),
            })
            .collect();
        assert!(rows.is_sorted(), "{rows:?}");
        assert!(b.gone.is_sorted(), "{:?}", b.gone);
        (rows, b.gone)
    }

    #[test]
    fn the_newest_write_of_each_key_is_due_and_a_failed_checkpoint_yields_to_newer_rows() {
        // Arrange: "a" written twice, "b" written then deleted, "c" deleted.
        let mut u = Unsaved::default();
        u.add(tickets(&[("a", 1), ("b", 1)], &["c"]));
        u.add(tickets(&[("a", 2)], &["b"]));

        // Act / Assert
        assert_eq!(due(&u), (vec![("a".into(), 2)], vec!["b".into(), "c".into()]));

        // Arrange: a checkpoint took them and failed, while newer write-outs came in.
        let failed = std::mem::take(&mut u);
        assert!(u.is_empty());
        u.add(tickets(&[("b", 3)], &["a"]));

        // Act
        u.put_back(failed);

        // Assert: the newer rows win; what only the failed checkpoint had is due again.
        assert_eq!(due(&u), (vec![("b".into(), 3)], vec!["a".into(), "c".into()]));
    }
}
