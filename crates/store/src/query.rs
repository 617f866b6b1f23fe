//! How lists are paged, filtered and sorted.

/// Column a broadcast list is sorted by (`sort_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Creation order.
    #[default]
    Date,
    Name,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// A page of broadcasts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub offset: u32,
    pub size: u32,
    pub sort_by: SortBy,
    pub order: Order,
    /// Case-insensitive substring of the stream id or the name.
    pub search: Option<String>,
    /// Exact `type` (`liveStream`, `ipCamera`, …).
    pub type_by: Option<String>,
}
