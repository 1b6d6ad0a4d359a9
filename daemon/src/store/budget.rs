//! The byte budget of one answer: a request that asks for many values (`get_many`) is
//! charged value by value while its answer is built, so a few bytes of request naming one
//! big key many times cannot make the daemon hold gigabytes before any limit is looked at.

/// Bytes an answer may still take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: usize,
    used: usize,
}

/// What one value slot costs besides the value: the slot of the answer's vector and the
/// MessagePack header it is encoded with.
const SLOT_OVERHEAD: usize = std::mem::size_of::<Option<Vec<u8>>>() + 8;

/// The answer would not fit in its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the answer would exceed {limit} bytes (max_frame_bytes) after {values} values; ask for \
     fewer or smaller values"
)]
pub struct OverBudget {
    /// The budget.
    pub limit: usize,
    /// Values that fitted.
    pub values: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget { limit, used: 0 }
    }

    /// A budget with no practical limit (internal callers that do not answer a client).
    pub fn unlimited() -> Budget {
        Budget::new(usize::MAX)
    }

    /// Charges one value slot (`None`: a miss); `values` is how many slots came before it.
    pub fn charge(&mut self, value: Option<&[u8]>, values: usize) -> Result<(), OverBudget> {
        let cost = value.map_or(SLOT_OVERHEAD, |v| v.len().saturating_add(SLOT_OVERHEAD));
        self.used = self.used.saturating_add(cost);
        if self.used > self.limit {
            return Err(OverBudget { limit: self.limit, values });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_until_the_limit_and_names_it() {
        let mut budget = Budget::new(50 + 2 * SLOT_OVERHEAD);
        budget.charge(Some(&[0; 50]), 0).unwrap();
        budget.charge(None, 1).unwrap();
        let limit = 50 + 2 * SLOT_OVERHEAD;
        assert_eq!(budget.charge(None, 2), Err(OverBudget { limit, values: 2 }));
        assert!(Budget::unlimited().charge(Some(&[0; 1 << 20]), 0).is_ok());
    }
}
