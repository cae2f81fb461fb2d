//! Messages as lines of bytes: one message per line, TAB between frames.
//!
//! Both directions work on raw bytes, never on `str`: a message need not be
//! UTF-8, and a line from stdin need not be either.

use std::io::{self, BufRead, Write};

use bytes::Bytes;
use zmio::Msg;

/// Separates the frames of a multipart message within a line.
const FRAME_SEPARATOR: u8 = b'\t';

/// Reads messages from lines of input.
#[derive(Debug)]
pub struct LineReader<R> {
    input: R,
}

impl<R: BufRead> LineReader<R> {
    /// Reads from `input`.
    pub fn new(input: R) -> LineReader<R> {
        LineReader { input }
    }

    /// The next line as a message, or `None` at end of input. The newline
    /// (`\n` or `\r\n`) is not part of the message; a last line without a
    /// newline is a message too.
    pub fn next_message(&mut self) -> io::Result<Option<Msg>> {
        let mut line = Vec::new();
        if self.input.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            // Text from Windows tools ends its lines in "\r\n".
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Ok(Some(line_to_message(Bytes::from(line))))
    }
}

/// Splits a line (without its newline) into frames at each TAB; the frames
/// share the line's buffer. An empty line is one empty frame.
pub fn line_to_message(line: Bytes) -> Msg {
    let mut frames = Vec::new();
    let mut start = 0;
    for (at, byte) in line.iter().enumerate() {
        if *byte == FRAME_SEPARATOR {
            frames.push(line.slice(start..at));
            start = at + 1;
        }
    }
    frames.push(line.slice(start..));
    Msg::from_frames(frames)
}

/// Writes messages as lines, flushing after each so a reader downstream
/// sees every message as soon as it arrives.
#[derive(Debug)]
pub struct LineWriter<W> {
    output: W,
    /// One message's line, reused so each message is a single write.
    line: Vec<u8>,
}

impl<W: Write> LineWriter<W> {
    /// Writes to `output`.
    pub fn new(output: W) -> LineWriter<W> {
        LineWriter {
            output,
            line: Vec::new(),
        }
    }

    /// Writes the message's frames joined by TAB, a newline, and flushes.
    pub fn write_message(&mut self, msg: &Msg) -> io::Result<()> {
        self.line.clear();
        for (i, frame) in msg.frames().enumerate() {
            if i > 0 {
                self.line.push(FRAME_SEPARATOR);
            }
            self.line.extend_from_slice(frame);
        }
        self.line.push(b'\n');
        self.output.write_all(&self.line)?;
        self.output.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(msg: &Msg) -> Vec<&[u8]> {
        msg.frames().map(|f| &f[..]).collect()
    }

    fn read_all(input: &[u8]) -> Vec<Msg> {
        let mut reader = LineReader::new(input);
        let mut messages = Vec::new();
        while let Some(msg) = reader.next_message().unwrap() {
            messages.push(msg);
        }
        messages
    }

    #[test]
    fn tabs_separate_frames() {
        let msg = line_to_message(Bytes::from_static(b"a\tbc\t\td"));
        assert_eq!(frames(&msg), vec![&b"a"[..], b"bc", b"", b"d"]);
    }

    #[test]
    fn an_empty_line_is_one_empty_frame() {
        let messages = read_all(b"\n\r\n");
        assert_eq!(messages.len(), 2);
        for msg in &messages {
            assert_eq!(frames(msg), vec![&b""[..]]);
        }
    }

    #[test]
    fn newline_and_crlf_are_stripped_but_a_lone_cr_is_kept() {
        let messages = read_all(b"a\r\nb\nc\rd\ne\r");
        let got: Vec<_> = messages.iter().map(|m| frames(m)[0].to_vec()).collect();
        assert_eq!(
            got,
            vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"c\rd".to_vec(),
                b"e\r".to_vec()
            ]
        );
    }

    #[test]
    fn a_last_line_without_newline_is_a_message() {
        assert_eq!(read_all(b"x\ny").len(), 2);
        assert!(read_all(b"").is_empty());
    }

    #[test]
    fn written_lines_round_trip_raw_bytes() {
        let mut out = Vec::new();
        let mut writer = LineWriter::new(&mut out);
        writer
            .write_message(&Msg::from_frames([&b"\xff\x00"[..], b"", b"z"]))
            .unwrap();
        writer.write_message(&Msg::new()).unwrap();
        assert_eq!(out, b"\xff\x00\t\tz\n\n");
    }
}
