//! Newline-delimited framing of the worker's stdout, with a ceiling on the
//! length of one line.
//!
//! Without a ceiling, a worker that writes without ever ending a line (a
//! bug, or a stray binary dump) makes the host buffer until it runs out of
//! memory. The real host has no such limit, so the limit is set far above
//! any real message: scoped-route bodies are capped at 1,000,000 bytes
//! and `ctx.db.query` results of a conformance plugin are a few KiB. A
//! worker over it is treated as broken, like one that crashed.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest stdout line (without its newline) a worker may write: 64 MiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// `buf` holds one line, without `\n` or `\r\n` (a last line without
    /// a newline counts, as in `AsyncBufReadExt::lines`).
    Line,
    /// The stream ended.
    Eof,
    /// The line grew past the ceiling; what was read of it is discarded.
    TooLong,
}

/// Reads the next line into `buf` (cleared first), never holding more than
/// `max` bytes of it.
pub async fn read_line<R>(reader: &mut R, buf: &mut Vec<u8>, max: usize) -> io::Result<Frame>
where
    R: AsyncBufRead + Unpin,
{
    buf.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                Frame::Eof
            } else {
                Frame::Line
            });
        }
        let (chunk, used, complete) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if buf.len() + chunk.len() > max {
            reader.consume(used);
            buf.clear();
            return Ok(Frame::TooLong);
        }
        buf.extend_from_slice(chunk);
        reader.consume(used);
        if complete {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Frame::Line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn frames(input: &[u8], max: usize, capacity: usize) -> Vec<(Frame, String)> {
        let mut reader = BufReader::with_capacity(capacity, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let f = read_line(&mut reader, &mut buf, max).await.unwrap();
            let done = f == Frame::Eof || f == Frame::TooLong;
            out.push((f, String::from_utf8_lossy(&buf).into_owned()));
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_like_lines_does() {
        for capacity in [1, 3, 64] {
            let got = frames(b"{\"a\":1}\r\n\nlast", 100, capacity).await;
            assert_eq!(
                got,
                [
                    (Frame::Line, "{\"a\":1}".to_string()),
                    (Frame::Line, String::new()),
                    (Frame::Line, "last".to_string()),
                    (Frame::Eof, String::new()),
                ],
                "capacity {capacity}"
            );
        }
    }

    #[tokio::test]
    async fn a_line_at_the_limit_passes_and_one_past_it_does_not() {
        for capacity in [2, 8, 64] {
            let got = frames(b"12345\n123456\nnever read", 5, capacity).await;
            assert_eq!(
                got,
                [
                    (Frame::Line, "12345".to_string()),
                    (Frame::TooLong, String::new()),
                ],
                "capacity {capacity}"
            );
        }
        // An endless line stops at the limit, not at the end of the input.
        let endless = vec![b'x'; 10_000];
        let got = frames(&endless, 1000, 64).await;
        assert_eq!(got, [(Frame::TooLong, String::new())]);
    }
}
