//! A completeness check on a library file before it is mapped.
//!
//! `dlopen` maps a library's segments straight from the file; if the file is
//! shorter than its headers say (a copy still being written, a deploy cut
//! short), touching the missing pages later raises `SIGBUS` and takes the
//! whole server down. So before mapping, the ELF header, program headers and
//! section header table are read through the same open descriptor that was
//! hashed (never by path, so the bytes checked are the bytes loaded), and a
//! file whose tables or loadable segments reach past its end is refused.
//!
//! Only 64-bit little-endian ELF is parsed (what this server runs on). Other
//! files are not judged here: a file that is not ELF64 little-endian passes,
//! and `dlopen` gives its own reason for refusing it.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// `\x7fELF`.
const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// `e_ident[EI_CLASS]` for 64-bit objects.
const CLASS_64: u8 = 2;
/// `e_ident[EI_DATA]` for little-endian objects.
const DATA_LSB: u8 = 1;
/// Size of the ELF64 file header.
const HEADER_SIZE: usize = 64;
/// Size of one ELF64 program header, the fields of which are read.
const PHDR_SIZE: usize = 56;
/// `p_type` of a segment the loader maps from the file.
const PT_LOAD: u32 = 1;
/// `e_phnum` value meaning "the real count is in section 0" (rare; such
/// files are left to the loader rather than parsed further).
const PN_XNUM: u16 = 0xffff;

/// Why a library fails the completeness check.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The file ends before something its headers point at.
    #[error(
        "the library looks truncated (still being written?): its {part} ends at byte {end} but the file is only {size} bytes"
    )]
    Truncated {
        /// What reaches past the end, e.g. "section header table".
        part: String,
        /// The offset one past its last byte.
        end: u64,
        /// The file's size.
        size: u64,
    },
    /// The descriptor could not be read.
    #[error("cannot read the library's ELF headers: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks that everything the ELF headers of `file` point at lies within the
/// file: the program header table, every `PT_LOAD` segment's file bytes and
/// the section header table. Files that are not 64-bit little-endian ELF pass
/// unchecked. Reads with `pread`, so the file position is left alone.
pub fn check_complete(file: &File) -> Result<(), ElfError> {
    let size = file.metadata()?.len();
    let mut ident = [0u8; 6];
    if size < ident.len() as u64 {
        return Ok(());
    }
    file.read_exact_at(&mut ident, 0)?;
    if ident[..4] != MAGIC || ident[4] != CLASS_64 || ident[5] != DATA_LSB {
        return Ok(());
    }
    within(size, "ELF header", 0, HEADER_SIZE as u64)?;
    let mut header = [0u8; HEADER_SIZE];
    file.read_exact_at(&mut header, 0)?;
    let phoff = u64_at(&header, 0x20);
    let shoff = u64_at(&header, 0x28);
    let phentsize = u16_at(&header, 0x36);
    let phnum = u16_at(&header, 0x38);
    let shentsize = u16_at(&header, 0x3a);
    let shnum = u16_at(&header, 0x3c);

    if phnum != PN_XNUM && phnum > 0 {
        let table_len = u64::from(phnum) * u64::from(phentsize);
        within(size, "program header table", phoff, table_len)?;
        if usize::from(phentsize) >= PHDR_SIZE {
            // At most 65535 entries of at most 64 KiB each, all within the
            // file (checked above): bounded by the file's own size.
            let mut table = vec![0u8; usize::try_from(table_len).unwrap_or(0)];
            file.read_exact_at(&mut table, phoff)?;
            for (i, entry) in table.chunks_exact(usize::from(phentsize)).enumerate() {
                if u32_at(entry, 0) == PT_LOAD {
                    let offset = u64_at(entry, 8);
                    let filesz = u64_at(entry, 32);
                    within(size, &format!("loadable segment {i}"), offset, filesz)?;
                }
            }
        }
    }
    if shoff != 0 {
        // `e_shnum == 0` with a table present means the count is stored in
        // section 0; that first entry must still be in the file.
        let table_len = u64::from(shnum.max(1)) * u64::from(shentsize);
        within(size, "section header table", shoff, table_len)?;
    }
    Ok(())
}

/// `Err(Truncated)` unless `len` bytes from `offset` fit in `size`.
fn within(size: u64, part: &str, offset: u64, len: u64) -> Result<(), ElfError> {
    let end = offset.saturating_add(len);
    if end > size {
        return Err(ElfError::Truncated {
            part: part.to_owned(),
            end,
            size,
        });
    }
    Ok(())
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    let mut le = [0u8; 2];
    le.copy_from_slice(&bytes[at..at + 2]);
    u16::from_le_bytes(le)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut le = [0u8; 4];
    le.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(le)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut le = [0u8; 8];
    le.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(le)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use super::*;

    /// A library this workspace builds, if it has been built.
    fn built_library() -> Option<Vec<u8>> {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/libstratus_naive.so");
        std::fs::read(path).ok()
    }

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn a_complete_library_passes() {
        let Some(bytes) = built_library() else {
            eprintln!("skipped: target/debug/libstratus_naive.so is not built");
            return;
        };
        check_complete(&file_with(&bytes)).unwrap();
    }

    #[test]
    fn the_first_half_of_a_library_is_refused_with_both_sizes() {
        let Some(bytes) = built_library() else {
            eprintln!("skipped: target/debug/libstratus_naive.so is not built");
            return;
        };
        let half = &bytes[..bytes.len() / 2];
        let error = check_complete(&file_with(half)).unwrap_err().to_string();
        assert!(error.contains("looks truncated"), "{error}");
        assert!(
            error.contains(&format!("only {} bytes", half.len())),
            "{error}"
        );
    }

    #[test]
    fn a_library_cut_inside_its_header_is_refused() {
        let Some(bytes) = built_library() else {
            eprintln!("skipped: target/debug/libstratus_naive.so is not built");
            return;
        };
        let error = check_complete(&file_with(&bytes[..40]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("ELF header ends at byte 64"), "{error}");
    }

    #[test]
    fn files_that_are_not_elf64_are_left_to_the_loader() {
        check_complete(&file_with(b"")).unwrap();
        check_complete(&file_with(b"this is not an ELF file")).unwrap();
        // 32-bit ELF: not parsed here.
        check_complete(&file_with(&[0x7f, b'E', b'L', b'F', 1, 1, 1])).unwrap();
    }

    #[test]
    fn a_segment_past_the_end_is_named() {
        // A minimal header with one PT_LOAD entry whose bytes run past the
        // end of a 200-byte file; no section header table.
        let mut bytes = vec![0u8; 200];
        bytes[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', CLASS_64, DATA_LSB]);
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        bytes[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        bytes[64..68].copy_from_slice(&PT_LOAD.to_le_bytes());
        bytes[64 + 8..64 + 16].copy_from_slice(&0u64.to_le_bytes());
        bytes[64 + 32..64 + 40].copy_from_slice(&4096u64.to_le_bytes());
        let error = check_complete(&file_with(&bytes)).unwrap_err().to_string();
        assert!(
            error.contains("loadable segment 0 ends at byte 4096 but the file is only 200 bytes"),
            "{error}"
        );
    }
}
