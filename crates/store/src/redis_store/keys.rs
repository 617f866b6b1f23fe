//! Every Redis key the store writes, in one place. All start with `tern:` so a
//! Redis shared with other programs keeps them apart.

/// The set of applications that have any record (crash recovery walks it).
pub const APPS: &str = "tern:apps";
/// The counter that orders records by insertion, as SQLite's rowid does.
pub const SEQUENCE: &str = "tern:seq";

pub fn settings(app: &str) -> String {
    format!("tern:app:{app}:settings")
}

/// One kind of record of one app: a hash of id → JSON document and a sorted
/// set of id → insertion number beside it.
#[derive(Debug, Clone)]
pub struct Table {
    pub docs: String,
    pub order: String,
}

impl Table {
    fn new(app: &str, kind: &str) -> Table {
        let docs = format!("tern:app:{app}:{kind}");
        Table {
            order: format!("{docs}:order"),
            docs,
        }
    }

    pub fn broadcasts(app: &str) -> Table {
        Table::new(app, "broadcasts")
    }

    pub fn tokens(app: &str) -> Table {
        Table::new(app, "tokens")
    }

    pub fn vods(app: &str) -> Table {
        Table::new(app, "vods")
    }

    /// Subscribers are kept per stream: their id is unique only within one.
    /// The id's length keeps stream `x:order` apart from stream `x`'s order.
    pub fn subscribers(app: &str, stream_id: &str) -> Table {
        Table::new(app, &format!("subscribers:{}:{stream_id}", stream_id.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_tables_of_different_streams_never_share_a_key() {
        let a = Table::subscribers("A", "x:1");
        let b = Table::subscribers("A", "x");
        assert_ne!(a.docs, b.docs);
        assert_ne!(a.order, b.order);
        assert_ne!(
            Table::subscribers("A:b", "c").docs,
            Table::subscribers("A", "b:c").docs
        );
    }
}
