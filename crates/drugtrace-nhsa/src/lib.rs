//! Reading the national insurance interface's messages (`POST /nhsa/callService`) as
//! hospital and pharmacy systems really send them: the envelope and its answer
//! ([`envelope`]), and fields by path, with the time forms, amounts and trace-code shapes
//! found in the wild ([`read`]). Nothing here records anything: the transactions that map
//! records onto ledger events live in `drugtrace-api`. Kept apart so that the reader can be
//! fuzzed without the server.

pub mod envelope;
pub mod read;
