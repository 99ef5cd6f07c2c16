pub mod audit_diff;
pub mod data_table;
pub mod layout;
pub mod loaded;
pub mod message_table;
pub mod query;
pub mod ui;
