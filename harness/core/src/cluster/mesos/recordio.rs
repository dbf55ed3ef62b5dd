//! RecordIO framing of Mesos streaming responses: `<decimal length>\n<payload>` repeated.

use bytes::{Buf, BytesMut};

/// Incremental RecordIO decoder: feed chunks as they arrive, take complete records out.
#[derive(Debug, Default)]
pub struct RecordIo {
    buf: BytesMut,
}

impl RecordIo {
    /// Appends a received chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete record, if one has arrived. A malformed length is an error.
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, String> {
        let Some(nl) = self.buf.iter().position(|b| *b == b'\n') else {
            if self.buf.len() > 20 {
                return Err(format!(
                    "no record length in the first {} bytes",
                    self.buf.len()
                ));
            }
            return Ok(None);
        };
        let header = std::str::from_utf8(&self.buf[..nl])
            .map_err(|_| "record length is not UTF-8".to_owned())?;
        let len: usize = header
            .trim()
            .parse()
            .map_err(|_| format!("record length `{header}` is not a number"))?;
        if self.buf.len() < nl + 1 + len {
            return Ok(None);
        }
        self.buf.advance(nl + 1);
        Ok(Some(self.buf.split_to(len).to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_across_chunks_are_reassembled() {
        let mut r = RecordIo::default();
        let stream = b"5\nhello11\n{\"a\":\"b c\"}0\n";
        for chunk in stream.chunks(3) {
            r.feed(chunk);
        }
        assert_eq!(r.next_record().unwrap().unwrap(), b"hello");
        assert_eq!(r.next_record().unwrap().unwrap(), br#"{"a":"b c"}"#);
        assert_eq!(r.next_record().unwrap().unwrap(), b"");
        assert_eq!(r.next_record().unwrap(), None);
    }

    #[test]
    fn a_partial_record_waits_and_garbage_is_an_error() {
        let mut r = RecordIo::default();
        r.feed(b"10\nabc");
        assert_eq!(r.next_record().unwrap(), None);
        r.feed(b"defghij");
        assert_eq!(r.next_record().unwrap().unwrap(), b"abcdefghij");
        let mut bad = RecordIo::default();
        bad.feed(b"x\n");
        assert!(bad.next_record().unwrap_err().contains("not a number"));
    }
}
