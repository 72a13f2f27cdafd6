//! Amounts of money as drugtrace keeps them: a whole number of fen (分, 0.01 yuan), the
//! settlement system's own unit, so sums and comparisons are exact.
//!
//! This crate owns the one [`Fen`] type, its one reading of yuan as people and files write
//! them ([`Fen::parse_yuan`]: `35`, `35.5`, `-12.30`; [`Fen::parse_paid`] for what a sale was
//! paid, never negative) and its two renderings as yuan: plain (`-12.30`, by `Display`, for
//! files) and grouped with thousands separators (`1,262,900.00`, by [`Fen::grouped`], for
//! pages). The ingest edge, the sale gate, the analytics' settlement import, the clue book,
//! the dashboard and the synthetic province all read and write amounts through it, so an
//! amount is parsed one way and shown one way everywhere.
//!
//! ```
//! use drugtrace_money::Fen;
//!
//! let paid = Fen::parse_paid(" 35.5 ")?;
//! assert_eq!(paid.fen(), 3550);
//! assert_eq!(paid.to_string(), "35.50");
//! assert_eq!(Fen::new(126_290_000).grouped().to_string(), "1,262,900.00");
//! assert!(Fen::parse_paid("-3").is_err());
//! # Ok::<(), drugtrace_money::MoneyError>(())
//! ```
//!
//! *Architecture invariant:* no dependencies beyond `thiserror`, no I/O; serde only behind
//! the `serde` feature, where a `Fen` serializes as its number of fen.

mod arith;
mod fen;
mod parse;
mod render;
#[cfg(feature = "serde")]
mod serde_impl;

pub use fen::Fen;
pub use parse::MoneyError;
pub use render::Grouped;
