//! A `Fen` in JSON (and any serde format) is its number of fen: the API's amounts have
//! always been whole numbers of fen (`"amount_fen": 1850`), and stay so.

use crate::Fen;

impl serde::Serialize for Fen {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_i64(self.fen())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fen_serializes_as_its_number_of_fen() {
        assert_eq!(serde_json::to_string(&Fen::new(-1850)).unwrap(), "-1850");
        assert_eq!(
            serde_json::to_string(&Some(Fen::new(12_600))).unwrap(),
            "12600"
        );
    }
}
