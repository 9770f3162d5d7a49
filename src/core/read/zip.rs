//! Bounded access to a zip archive held in memory: the container of every XLSX workbook. The
//! central directory is parsed record by record (never sized from the count it declares),
//! each entry's local header is checked against it, entries that share bytes or names are
//! refused, and the sizes entries declare are held to the caps of [`super::guard`] before
//! anything is unpacked. A part is then read through a `PartReader`, which inflates it in
//! small chunks, counts every byte it produces, stops at the size the entry declares (and at
//! the caps, whatever the headers say) and checks the CRC-32 at the end — so a part is never
//! held whole in memory unless its reader chooses to keep it, and a lying header is found out.

use std::collections::HashMap;
use std::ops::Range;

use flate2::{Decompress, FlushDecompress, Status};

use super::guard::{
    mib, thousands, ReadError, MAX_COMPRESSION_RATIO, MAX_HIGHLY_COMPRESSED_ENTRY, MAX_PART_BYTES,
    MAX_UNPACKED_BYTES, MAX_ZIP_ENTRIES,
};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_DIRECTORY: u32 = 0x0605_4b50;
const ZIP64_END_OF_DIRECTORY: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// How many bytes one call to the inflater produces at most.
const CHUNK: usize = 64 * 1024;

/// One entry of the central directory, checked against its local header.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The name as stored (lossy UTF-8).
    pub name: String,
    method: u16,
    crc: u32,
    /// The compressed bytes, within the archive.
    data: Range<usize>,
    /// The unpacked size the entry declares (and must unpack to exactly).
    pub size: u64,
    /// The length of the local header in front of the data.
    header_len: usize,
}

impl Entry {
    /// Where the entry's local header begins.
    fn header_start(&self) -> usize {
        self.data.start - self.header_len
    }
}

/// A zip archive whose directory has been read and checked.
pub(crate) struct Archive<'a> {
    file: &'a str,
    bytes: &'a [u8],
    entries: Vec<Entry>,
    /// Normalised name (lower case, `/` separators) → index in `entries`.
    by_name: HashMap<String, usize>,
    /// Bytes unpacked so far from every part, against [`MAX_UNPACKED_BYTES`].
    unpacked: std::cell::Cell<u64>,
}

/// The key a part is looked up by: Excel compares part names case-insensitively, and some
/// writers use `\` as the separator.
pub(crate) fn normalise(name: &str) -> String {
    name.trim_start_matches('/').replace('\\', "/").to_ascii_lowercase()
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Where the central directory is and how many entries it declares.
struct Directory {
    offset: u64,
    size: u64,
    declared_entries: u64,
}

impl<'a> Archive<'a> {
    /// Reads and checks the directory of the zip in `bytes`.
    pub fn open(file: &'a str, bytes: &'a [u8]) -> Result<Archive<'a>, ReadError> {
        let not_a_zip =
            |detail: &str| ReadError::NotAWorkbook { file: file.to_string(), detail: detail.to_string() };
        let directory = find_directory(bytes).map_err(|d| not_a_zip(&d))?;
        let start = usize::try_from(directory.offset)
            .map_err(|_| not_a_zip("its directory lies outside the file"))?;
        let end = usize::try_from(directory.offset.saturating_add(directory.size))
            .ok()
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| not_a_zip("its directory lies outside the file"))?;

        // The directory's records, as many as it holds (never as many as it declares).
        let mut records = Vec::new();
        let mut at = start;
        while at < end {
            if records.len() >= MAX_ZIP_ENTRIES {
                return Err(ReadError::TooManyEntries { file: file.to_string() });
            }
            let (record, next) = read_central_record(file, bytes, at)?;
            records.push(record);
            at = next;
        }
        if at != end || records.len() as u64 != directory.declared_entries {
            return Err(not_a_zip(&format!(
                "its directory declares {} entries and holds {}",
                thousands(directory.declared_entries),
                thousands(records.len() as u64)
            )));
        }
        // Declared sizes first: a zip bomb is named as one before anything else is looked at.
        check_declared_sizes(file, records.iter().map(|r| (r.name.as_str(), r.size, r.compressed)))?;
        let entries =
            records.into_iter().map(|r| locate(file, bytes, r, start)).collect::<Result<Vec<Entry>, _>>()?;

        // Every entry's bytes, local header included, must stand apart from every other's.
        let mut spans: Vec<usize> = (0..entries.len()).collect();
        spans.sort_unstable_by_key(|&i| entries[i].header_start());
        for pair in spans.windows(2) {
            let (first, second) = (&entries[pair[0]], &entries[pair[1]]);
            if second.header_start() < first.data.end {
                return Err(ReadError::OverlappingEntries {
                    file: file.to_string(),
                    first: first.name.clone(),
                    second: second.name.clone(),
                });
            }
        }

        let mut by_name = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if by_name.insert(normalise(&e.name), i).is_some() {
                return Err(ReadError::DuplicateEntry { file: file.to_string(), name: e.name.clone() });
            }
        }
        Ok(Archive { file, bytes, entries, by_name, unpacked: std::cell::Cell::new(0) })
    }

    /// The entry named `path` (compared as Excel does), if any.
    pub fn find(&self, path: &str) -> Option<&Entry> {
        self.by_name.get(&normalise(path)).map(|&i| &self.entries[i])
    }

    /// A reader of the unpacked bytes of `entry`, refused up front when the entry declares
    /// more than `limit` bytes.
    pub fn open_part<'s>(&'s self, entry: &'s Entry, limit: u64) -> Result<PartReader<'s>, ReadError> {
        if entry.size > limit {
            return Err(if limit < MAX_PART_BYTES {
                ReadError::MetadataTooLarge {
                    file: self.file.to_string(),
                    part: entry.name.clone(),
                    size: entry.size,
                }
            } else {
                ReadError::ZipBomb {
                    file: self.file.to_string(),
                    detail: format!(
                        "the part {} declares {}; at most {} are allowed",
                        entry.name,
                        mib(entry.size),
                        mib(limit)
                    ),
                }
            });
        }
        let inflater = match entry.method {
            0 => None,
            8 => Some(Box::new(Decompress::new(false))),
            m => {
                return Err(ReadError::UnsupportedEntry {
                    file: self.file.to_string(),
                    part: entry.name.clone(),
                    detail: format!("compressed with method {m} (only stored and deflate are read)"),
                })
            }
        };
        Ok(PartReader {
            archive: self,
            entry,
            input: &self.bytes[entry.data.clone()],
            read_in: 0,
            scratch: if inflater.is_some() { vec![0; CHUNK].into_boxed_slice() } else { Box::default() },
            inflater,
            produced: 0,
            crc: crc32fast::Hasher::new(),
            finished: false,
        })
    }
}

/// Finds the end-of-central-directory record (searching back over a comment of up to 64 KiB)
/// and, when its fields overflow, the ZIP64 record it points to.
fn find_directory(bytes: &[u8]) -> Result<Directory, String> {
    const EOCD_LEN: usize = 22;
    if bytes.len() < EOCD_LEN {
        return Err("it is too short to be a zip".to_string());
    }
    let lowest = bytes.len().saturating_sub(EOCD_LEN + u16::MAX as usize);
    let mut at = bytes.len() - EOCD_LEN;
    let eocd = loop {
        if u32_at(bytes, at) == Some(END_OF_DIRECTORY) {
            let comment = u16_at(bytes, at + 20).unwrap_or(0) as usize;
            if at + EOCD_LEN + comment <= bytes.len() {
                break at;
            }
        }
        if at == lowest {
            return Err("no zip directory was found; the file is cut short or not a zip".to_string());
        }
        at -= 1;
    };
    let disk = u16_at(bytes, eocd + 4).unwrap_or(0);
    let directory_disk = u16_at(bytes, eocd + 6).unwrap_or(0);
    let mut directory = Directory {
        declared_entries: u64::from(u16_at(bytes, eocd + 10).unwrap_or(0)),
        size: u64::from(u32_at(bytes, eocd + 12).unwrap_or(0)),
        offset: u64::from(u32_at(bytes, eocd + 16).unwrap_or(0)),
    };
    if disk != 0 || directory_disk != 0 {
        return Err("it is a multi-part (spanned) zip".to_string());
    }
    let overflowed = directory.declared_entries == 0xFFFF
        || directory.size == 0xFFFF_FFFF
        || directory.offset == 0xFFFF_FFFF;
    if overflowed && eocd >= 20 && u32_at(bytes, eocd - 20) == Some(ZIP64_LOCATOR) {
        let record = u64_at(bytes, eocd - 20 + 8)
            .and_then(|r| usize::try_from(r).ok())
            .filter(|r| u32_at(bytes, *r) == Some(ZIP64_END_OF_DIRECTORY))
            .ok_or_else(|| "its ZIP64 directory record is missing".to_string())?;
        let field = |at: usize| {
            u64_at(bytes, record + at).ok_or_else(|| "its ZIP64 directory record is cut short".to_string())
        };
        directory = Directory { declared_entries: field(32)?, size: field(40)?, offset: field(48)? };
    }
    if directory.offset.saturating_add(directory.size) > eocd as u64 {
        return Err("its directory lies outside the file".to_string());
    }
    Ok(directory)
}

/// One record of the central directory, as declared.
struct Central<'b> {
    name: String,
    name_bytes: &'b [u8],
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// Reads the central-directory record at `at`; returns it and where the next one begins.
fn read_central_record<'b>(
    file: &str,
    bytes: &'b [u8],
    at: usize,
) -> Result<(Central<'b>, usize), ReadError> {
    let bad = |detail: String| ReadError::NotAWorkbook { file: file.to_string(), detail };
    let cut = || bad("a record of its directory is cut short".to_string());
    if u32_at(bytes, at) != Some(CENTRAL_HEADER) {
        return Err(bad("a record of its directory is damaged".to_string()));
    }
    let flags = u16_at(bytes, at + 8).ok_or_else(cut)?;
    let method = u16_at(bytes, at + 10).ok_or_else(cut)?;
    let crc = u32_at(bytes, at + 16).ok_or_else(cut)?;
    let mut compressed = u64::from(u32_at(bytes, at + 20).ok_or_else(cut)?);
    let mut size = u64::from(u32_at(bytes, at + 24).ok_or_else(cut)?);
    let name_len = u16_at(bytes, at + 28).ok_or_else(cut)? as usize;
    let extra_len = u16_at(bytes, at + 30).ok_or_else(cut)? as usize;
    let comment_len = u16_at(bytes, at + 32).ok_or_else(cut)? as usize;
    let mut offset = u64::from(u32_at(bytes, at + 42).ok_or_else(cut)?);
    let name_bytes = bytes.get(at + 46..at + 46 + name_len).ok_or_else(cut)?;
    let extra = bytes.get(at + 46 + name_len..at + 46 + name_len + extra_len).ok_or_else(cut)?;
    let next = at + 46 + name_len + extra_len + comment_len;
    let name = String::from_utf8_lossy(name_bytes).into_owned();

    // ZIP64: the fields that overflowed are in the extra field 0x0001, in this order.
    if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        let mut values = zip64_field(extra).into_iter();
        for field in [&mut size, &mut compressed, &mut offset] {
            if *field == 0xFFFF_FFFF {
                *field =
                    values.next().ok_or_else(|| bad(format!("the entry {name} lacks its ZIP64 sizes")))?;
            }
        }
    }
    Ok((Central { name, name_bytes, flags, method, crc, compressed, size, offset }, next))
}

/// Finds an entry's data through its local header, which must agree with the directory:
/// same name and method and (unless its sizes follow the data) the same checksum and sizes.
/// `directory_start` bounds where data may lie.
fn locate(file: &str, bytes: &[u8], record: Central<'_>, directory_start: usize) -> Result<Entry, ReadError> {
    let Central { name, name_bytes, flags, method, crc, compressed, size, offset } = record;
    let bad = |detail: String| ReadError::NotAWorkbook { file: file.to_string(), detail };
    let cut = || bad("a local header is cut short".to_string());
    if flags & 1 != 0 {
        return Err(ReadError::UnsupportedEntry {
            file: file.to_string(),
            part: name,
            detail: "encrypted".to_string(),
        });
    }
    let inconsistent = |detail: &str| ReadError::InconsistentEntry {
        file: file.to_string(),
        part: name.clone(),
        detail: detail.to_string(),
    };
    let header = usize::try_from(offset).unwrap_or(usize::MAX);
    if header >= directory_start || u32_at(bytes, header) != Some(LOCAL_HEADER) {
        return Err(inconsistent("its local header is missing"));
    }
    let local_flags = u16_at(bytes, header + 6).ok_or_else(cut)?;
    let local_method = u16_at(bytes, header + 8).ok_or_else(cut)?;
    let local_crc = u32_at(bytes, header + 14).ok_or_else(cut)?;
    let local_compressed = u32_at(bytes, header + 18).ok_or_else(cut)?;
    let local_size = u32_at(bytes, header + 22).ok_or_else(cut)?;
    let local_name_len = u16_at(bytes, header + 26).ok_or_else(cut)? as usize;
    let local_extra_len = u16_at(bytes, header + 28).ok_or_else(cut)? as usize;
    if bytes.get(header + 30..header + 30 + local_name_len) != Some(name_bytes) {
        return Err(inconsistent("its local header names another part"));
    }
    if local_method != method || (local_flags & 1) != (flags & 1) {
        return Err(inconsistent("its local header gives another compression method"));
    }
    if local_flags & 0x08 == 0 {
        let zip64 = local_compressed == 0xFFFF_FFFF || local_size == 0xFFFF_FFFF;
        if local_crc != crc
            || (!zip64 && (u64::from(local_compressed) != compressed || u64::from(local_size) != size))
        {
            return Err(inconsistent(&format!(
                "the local header declares {} bytes packed into {} with CRC {local_crc:08x}, the directory {} into {} with CRC {crc:08x}",
                thousands(u64::from(local_size)),
                thousands(u64::from(local_compressed)),
                thousands(size),
                thousands(compressed)
            )));
        }
    }
    if method == 0 && compressed != size {
        return Err(inconsistent("it is stored uncompressed but declares two different sizes"));
    }
    let header_len = 30 + local_name_len + local_extra_len;
    let data_start = header + header_len;
    let data_end = usize::try_from(compressed)
        .ok()
        .and_then(|c| data_start.checked_add(c))
        .filter(|end| *end <= directory_start)
        .ok_or_else(|| bad(format!("the data of the entry {name} runs past the end of the archive")))?;
    Ok(Entry { name, method, crc, data: data_start..data_end, size, header_len })
}

/// The values of the ZIP64 extended-information extra field (id 0x0001), in order.
fn zip64_field(extra: &[u8]) -> Vec<u64> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at).unwrap_or(0);
        let len = u16_at(extra, at + 2).unwrap_or(0) as usize;
        let body = extra.get(at + 4..at + 4 + len).unwrap_or(&[]);
        if id == 1 {
            return body.chunks_exact(8).filter_map(|c| u64_at(c, 0)).collect();
        }
        at += 4 + len;
    }
    Vec::new()
}

/// Refuses entries that expand like a zip bomb, judged on declared sizes — which the part
/// reader then holds every part to, byte for byte.
pub(crate) fn check_declared_sizes<'n>(
    file: &str,
    entries: impl Iterator<Item = (&'n str, u64, u64)>,
) -> Result<(), ReadError> {
    let mut total = 0u64;
    for (name, size, compressed) in entries {
        if size > MAX_PART_BYTES {
            return Err(ReadError::ZipBomb {
                file: file.to_string(),
                detail: format!(
                    "the part {name} declares {}; at most {} are allowed for one part",
                    mib(size),
                    mib(MAX_PART_BYTES)
                ),
            });
        }
        if size > MAX_HIGHLY_COMPRESSED_ENTRY && size > compressed.saturating_mul(MAX_COMPRESSION_RATIO) {
            let ratio = size / compressed.max(1);
            return Err(ReadError::ZipBomb {
                file: file.to_string(),
                detail: format!(
                    "the part {name} unpacks to {} from {} bytes ({}×; at most {}× above 20 MiB)",
                    mib(size),
                    thousands(compressed),
                    thousands(ratio),
                    MAX_COMPRESSION_RATIO
                ),
            });
        }
        total = total.saturating_add(size);
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(ReadError::ZipBomb {
            file: file.to_string(),
            detail: format!(
                "its parts unpack to {} in total; at most {} are allowed",
                mib(total),
                mib(MAX_UNPACKED_BYTES)
            ),
        });
    }
    Ok(())
}

/// The unpacked bytes of one part, produced in chunks of at most 64 KiB straight into the
/// caller's buffer. It counts what it produces and refuses the part as soon as it gives more
/// than it declares or the archive more than its total budget; at the end it checks the size
/// and the CRC-32.
pub(crate) struct PartReader<'a> {
    archive: &'a Archive<'a>,
    entry: &'a Entry,
    input: &'a [u8],
    /// Compressed bytes consumed (for stored parts, bytes copied).
    read_in: usize,
    inflater: Option<Box<Decompress>>,
    /// Where the inflater writes before the bytes are handed over (empty for stored parts).
    scratch: Box<[u8]>,
    produced: u64,
    crc: crc32fast::Hasher,
    finished: bool,
}

impl<'a> PartReader<'a> {
    pub fn part_name(&self) -> &'a str {
        &self.entry.name
    }

    fn damaged(&self, detail: String) -> ReadError {
        ReadError::DamagedPart { file: self.archive.file.to_string(), part: self.entry.name.clone(), detail }
    }

    /// Unpacks the next chunk onto the end of `out`; `Ok(0)` at the end of the part, once its
    /// size and checksum have been checked.
    pub fn append_to(&mut self, out: &mut Vec<u8>) -> Result<usize, ReadError> {
        if self.finished {
            return Ok(0);
        }
        let at = out.len();
        let produced_now = match &mut self.inflater {
            None => {
                let n = (self.input.len() - self.read_in).min(CHUNK);
                out.extend_from_slice(&self.input[self.read_in..self.read_in + n]);
                self.read_in += n;
                n
            }
            Some(inflater) => {
                let produced = loop {
                    let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
                    let status = inflater.decompress(
                        &self.input[self.read_in..],
                        &mut self.scratch,
                        FlushDecompress::None,
                    );
                    let consumed = (inflater.total_in() - before_in) as usize;
                    let produced = (inflater.total_out() - before_out) as usize;
                    self.read_in += consumed;
                    match status {
                        Ok(Status::StreamEnd) => break Ok(produced),
                        Ok(_) if produced > 0 => break Ok(produced),
                        Ok(_) if consumed > 0 => continue,
                        Ok(_) => break Err("its compressed data ends before the part does".to_string()),
                        Err(e) => break Err(format!("its compressed data is invalid: {e}")),
                    }
                };
                match produced {
                    Ok(n) => {
                        out.extend_from_slice(&self.scratch[..n]);
                        n
                    }
                    Err(detail) => return Err(self.damaged(detail)),
                }
            }
        };
        self.produced += produced_now as u64;
        let total = self.archive.unpacked.get() + produced_now as u64;
        self.archive.unpacked.set(total);
        if self.produced > self.entry.size {
            return Err(self.damaged(format!(
                "it unpacks to more than the {} bytes it declares",
                thousands(self.entry.size)
            )));
        }
        if total > MAX_UNPACKED_BYTES {
            return Err(ReadError::ZipBomb {
                file: self.archive.file.to_string(),
                detail: format!("its parts unpack to more than {} in total", mib(MAX_UNPACKED_BYTES)),
            });
        }
        if produced_now == 0 {
            // The end: what was unpacked must be what was declared, checksum included.
            if self.produced != self.entry.size {
                return Err(self.damaged(format!(
                    "it unpacks to {} bytes but declares {}",
                    thousands(self.produced),
                    thousands(self.entry.size)
                )));
            }
            let crc = std::mem::take(&mut self.crc).finalize();
            if crc != self.entry.crc {
                return Err(
                    self.damaged(format!("its CRC-32 is {crc:08x}, not the {:08x} declared", self.entry.crc))
                );
            }
            self.finished = true;
            return Ok(0);
        }
        self.crc.update(&out[at..]);
        Ok(produced_now)
    }
}
