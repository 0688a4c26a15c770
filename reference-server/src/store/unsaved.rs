//! The rows of the change log not yet in the SQLite file, which the next checkpoint commits.

use super::{Batch, TABLES, Val};

/// One write of a key that the change log holds and SQLite does not yet.
#[derive(Clone)]
enum Change {
    /// The row as written (its first value is the key).
    Row(Vec<Val>),
    /// The key was deleted.
    Gone(String),
}

impl Change {
    fn key(&self) -> &str {
        match self {
            Change::Row(row) => match row.first() {
                Some(Val::Text(k)) => k,
                _ => "",
            },
            Change::Gone(k) => k,
        }
    }
}

/// The rows the change log holds and SQLite does not yet: per table (in the order of
/// [`TABLES`]), every write in the order it was logged. A checkpoint commits the newest write
/// of each key as it is, so it neither reads the tables again nor encodes a row twice.
///
/// The writes are kept as a list, not a map from key to newest row: a write-out only appends,
/// and the older writes of a key are dropped when the checkpoint sorts the list by key (which
/// it does anyway, so SQLite walks its key index in order). With a map, hashing each key and
/// growing the map was about 3 % of a token request's CPU under load (issue 13). They take
/// about twice the memory of the log segments they stand for, which a checkpoint keeps under
/// 64 MiB or so (its threshold plus what arrives while it runs).
#[derive(Default, Clone)]
pub(super) struct Unsaved([Vec<Change>; 7]);

impl Unsaved {
    pub(super) fn is_empty(&self) -> bool {
        self.0.iter().all(Vec::is_empty)
    }

    /// Takes in the rows of a write-out (or a line of the log) that followed every one already
    /// here.
    pub(super) fn add(&mut self, batches: impl IntoIterator<Item = Batch>) {
        for b in batches {
            let Some(changes) = TABLES.iter().position(|t| t.0 == b.table).map(|i| &mut self.0[i]) else {
                continue;
            };
            changes.extend(
                b.rows
                    .into_iter()
                    .filter(|row| matches!(row.first(), Some(Val::Text(_))))
                    .map(Change::Row),
            );
            changes.extend(b.gone.into_iter().map(Change::Gone));
        }
    }

    /// Puts back the rows of a checkpoint that failed: older than every row here.
    pub(super) fn put_back(&mut self, older: Unsaved) {
        for (changes, mut old) in self.0.iter_mut().zip(older.0) {
            old.append(changes);
            *changes = old;
        }
    }

    /// The batches committing these rows: the newest write of each key, in the order of the
    /// keys, so SQLite walks each table's key index from one end to the other instead of
    /// jumping about it. With the rows moved rather than copied, `cargo bench -p
    /// uma-reference-server --bench checkpoint -- --run` went from 10.8-13.8 µs of CPU per RPT
    /// row to 6.3-7.0.
    pub(super) fn into_batches(self) -> [Batch; 7] {
        let mut tables = self.0.into_iter();
        std::array::from_fn(|i| {
            let (table, cols, key) = TABLES[i];
            let (mut rows, mut gone) = (Vec::new(), Vec::new());
            let changes = tables.next().unwrap_or_default();
            let newest = newest_in_key_order(&changes);
            // Moved out by position: each position comes once.
            let mut changes: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
            for change in newest.into_iter().filter_map(|i| changes[i].take()) {
                match change {
                    Change::Row(row) => rows.push(row),
                    Change::Gone(k) => gone.push(k),
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

/// The positions of the newest write of each key among `changes` (in the order they were
/// logged), in the order of the keys. Sorted as (the key's first eight bytes, position) pairs:
/// comparing the whole keys only where those bytes are equal took the sort from about 5 % of a
/// token request's CPU under load to about 1 % (issue 13).
fn newest_in_key_order(changes: &[Change]) -> Vec<usize> {
    let key = |i: usize| changes[i].key();
    let mut order: Vec<(u64, usize)> = (0..changes.len()).map(|i| (prefix(key(i)), i)).collect();
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key(a.1).cmp(key(b.1))).then(a.1.cmp(&b.1)));
    let mut newest = Vec::with_capacity(order.len());
    for (n, &(p, i)) in order.iter().enumerate() {
        let superseded = order
            .get(n + 1)
            .is_some_and(|&(next_p, next)| next_p == p && key(next) == key(i));
        if !superseded {
            newest.push(i);
        }
    }
    newest
}

/// The first eight bytes of `key` as a number that orders as the bytes do (zero-padded).
fn prefix(key: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
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

    proptest::proptest! {
        /// The newest write of each key, in key order, as a map from key to newest write gives
        /// it; keys short and long, sharing their first eight bytes or not, with a NUL or not.
        #[test]
        fn newest_in_key_order_agrees_with_a_map(
            writes in proptest::collection::vec(("(ab|abcdefgh|abcdefghi|a\\x00)?[a-c]{0,3}", proptest::bool::ANY), 0..60)
        ) {
            let changes: Vec<Change> = writes
                .iter()
                .map(|(k, row)| if *row {
                    Change::Row(vec![Val::Text(k.clone())])
                } else {
                    Change::Gone(k.clone())
                })
                .collect();
            let mut naive = std::collections::BTreeMap::new();
            for (i, (k, _)) in writes.iter().enumerate() {
                naive.insert(k.clone(), i);
            }
            let expected: Vec<usize> = naive.into_values().collect();
            proptest::prop_assert_eq!(newest_in_key_order(&changes), expected);
        }
    }
}
