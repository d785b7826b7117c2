import Foundation
import Postgres

// MARK: - Errors

/// Why a compressed WAL file could not be read or written.
///
/// Corruption is its own case because callers react to it differently: `wal fetch` must stop
/// recovery (exit 126) rather than hand PostgreSQL wrong bytes, and `wal compress` may replace
/// a corrupt compressed copy from a still present original.
public enum WALCompressionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file's contents fail the format's own checks (checksum, frame structure, length) or
    /// decompress to the wrong size. Its bytes are never returned.
    case corrupt(file: String, reason: String)
    /// An I/O error or a library failure that says nothing about the file's contents.
    case failed(String)

    public var description: String {
        switch self {
        case .corrupt(let file, let reason): "\(file) is corrupt: \(reason)"
        case .failed(let message): message
        }
    }

    public var isCorruption: Bool { if case .corrupt = self { true } else { false } }
}

// MARK: - Compression of whole files

/// Compression of whole WAL files in-process through libzstd, liblz4 and zlib.
///
/// Every format written here carries a checksum of the original bytes and the original size,
/// and every decompression verifies them, so a damaged file is reported as corrupt instead of
/// being replayed:
///
/// | algorithm | suffix | checksum of the original | original size |
/// |---|---|---|---|
/// | zstd | `.zst` | XXH64 (frame content checksum) | frame header (content size) |
/// | lz4 | `.lz4` | XXH32 of the content, plus one per block | frame header (content size) |
/// | gzip | `.gz` | CRC32 in the gzip trailer | ISIZE in the gzip trailer |
///
/// Decompression also accepts frames pg_receivewal writes with `--compress=lz4|gzip` (lz4
/// frames without checksums are then checked by size only).
public enum WALCompression {
    public typealias Algorithm = WALFileName.Compression

    /// zstd level 3 (libzstd's default): WAL is mostly zero-filled pages and compresses about as
    /// well at 3 as at 19, many times faster.
    public static let zstdLevel: Int32 = 3
    /// lz4 frame "fast" level.
    public static let lz4Level: Int32 = 0
    /// zlib's default level.
    public static let gzipLevel: Int32 = 6

    /// Bytes read from a compressed file per step, and decompressed bytes handed on per step.
    static let chunkSize = 1 << 20

    /// The algorithm for a `wal_compression` setting; `nil` for `none`.
    public static func algorithm(configValue: String) -> Algorithm? {
        switch configValue {
        case "zstd": .zstd
        case "lz4": .lz4
        case "gzip", "gz": .gzip
        default: nil
        }
    }

    /// Whether `size` can be a WAL segment size (initdb `--wal-segsize`: a power of two from
    /// 1 MiB to 1 GiB).
    public static func isValidSegmentSize(_ size: UInt64) -> Bool {
        size >= 1 << 20 && size <= 1 << 30 && size & (size - 1) == 0
    }

    /// Compresses `input` as one frame (zstd, lz4) or gzip member, with checksum and size.
    public static func compress(_ input: [UInt8], algorithm: Algorithm) throws(WALCompressionError) -> [UInt8] {
        var result: Result<[UInt8], WALCompressionError> = .success([])
        input.withUnsafeBytes { buffer in
            result = Result { () throws(WALCompressionError) -> [UInt8] in try compress(buffer, algorithm: algorithm) }
        }
        return try result.get()
    }

    /// Compresses the bytes at `input`; see `compress(_:algorithm:)`.
    public static func compress(_ input: UnsafeRawBufferPointer, algorithm: Algorithm) throws(WALCompressionError) -> [UInt8] {
        switch algorithm {
        case .zstd: try zstdCompress(input)
        case .lz4: try lz4Compress(input)
        case .gzip: try gzipCompress(input)
        }
    }

    /// Decompresses a whole compressed file held in memory. `file` names it in errors.
    /// With `expectedSize`, anything but exactly that many bytes is corruption.
    public static func decompress(_ input: [UInt8], algorithm: Algorithm, file: String,
                                  expectedSize: UInt64? = nil) throws(WALCompressionError) -> [UInt8] {
        var offset = 0
        var output: [UInt8] = []
        if let expectedSize { output.reserveCapacity(Int(expectedSize)) }
        _ = try decode(algorithm: algorithm, file: file, expectedSize: expectedSize, fill: { buffer in
            let n = min(buffer.count, input.count - offset)
            if n > 0 {
                input.withUnsafeBytes { source in
                    buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: n)
                }
            }
            offset += n
            return n
        }, emit: { chunk in
            output.append(contentsOf: chunk)
        })
        return output
    }

    /// Streams the compressed file at `path` through the decoder, handing each decompressed
    /// piece to `sink` as it comes. Returns the decompressed size. The pieces are only trustworthy
    /// once this returns: the checksum is checked at the end of the frame, so a sink writing to a
    /// file must remove it when this throws.
    @discardableResult
    public static func decompress(file path: String, algorithm: Algorithm, expectedSize: UInt64? = nil,
                                  into sink: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void) throws(WALCompressionError) -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try decompress(descriptor: fd, path: path, algorithm: algorithm, expectedSize: expectedSize, into: sink)
    }

    /// As `decompress(file:…)`, from an already open file descriptor (read from its current offset).
    @discardableResult
    public static func decompress(descriptor fd: Int32, path: String, algorithm: Algorithm, expectedSize: UInt64? = nil,
                                  into sink: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void) throws(WALCompressionError) -> UInt64 {
        try decode(algorithm: algorithm, file: path, expectedSize: expectedSize, fill: { buffer throws(WALCompressionError) in
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw .failed("cannot read \(path): \(String(cString: strerror(errno)))") }
            }
        }, emit: sink)
    }

    /// Decompresses the file at `source` into a new file `destination` (mode 0600, not fsynced:
    /// PostgreSQL's restore_command target is a scratch file). On any error the destination is
    /// removed, so a corrupt source never leaves wrong bytes behind.
    @discardableResult
    public static func decompress(file source: String, algorithm: Algorithm, expectedSize: UInt64? = nil,
                                  to destination: String) throws(WALCompressionError) -> UInt64 {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("cannot open \(source): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try decompress(descriptor: fd, path: source, algorithm: algorithm, expectedSize: expectedSize, to: destination)
    }

    /// As `decompress(file:…to:)`, from an already open file descriptor.
    @discardableResult
    public static func decompress(descriptor fd: Int32, path: String, algorithm: Algorithm, expectedSize: UInt64? = nil,
                                  to destination: String) throws(WALCompressionError) -> UInt64 {
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw .failed("cannot create \(destination): \(String(cString: strerror(errno)))") }
        do throws(WALCompressionError) {
            let size = try decompress(descriptor: fd, path: path, algorithm: algorithm, expectedSize: expectedSize) { chunk throws(WALCompressionError) in
                try writeAll(output, chunk, path: destination)
            }
            guard close(output) == 0 else { throw WALCompressionError.failed("cannot write \(destination): \(String(cString: strerror(errno)))") }
            return size
        } catch {
            close(output)
            unlink(destination)
            throw error
        }
    }

    /// Decompresses the file at `path` completely (checksum and size verified) and tells whether
    /// it holds exactly `original`. Corruption throws; a valid file with other contents returns false.
    public static func decompressedFile(_ path: String, algorithm: Algorithm, expectedSize: UInt64?,
                                        equals original: [UInt8]) throws(WALCompressionError) -> Bool {
        var offset = 0
        var same = true
        try decompress(file: path, algorithm: algorithm, expectedSize: expectedSize) { chunk in
            guard same else { return }
            if offset + chunk.count > original.count {
                same = false
            } else {
                same = original.withUnsafeBytes { memcmp(chunk.baseAddress!, $0.baseAddress! + offset, chunk.count) == 0 }
            }
            offset += chunk.count
        }
        return same && offset == original.count
    }

    // MARK: Decoding
    /// Counts decompressed bytes, stops a file that grows past its expected size early, and
    /// checks the final size.
    private static func decode(algorithm: Algorithm, file: String, expectedSize: UInt64?,
                               fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
                               emit: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void) throws(WALCompressionError) -> UInt64 {
        var total: UInt64 = 0
        let counted: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void = { chunk throws(WALCompressionError) in
            guard !chunk.isEmpty else { return }
            total += UInt64(chunk.count)
            if let expectedSize, total > expectedSize {
                throw .corrupt(file: file, reason: "decompresses to more than the expected \(expectedSize) bytes")
            }
            try emit(chunk)
        }
        switch algorithm {
        case .zstd: try zstdDecode(file: file, fill: fill, emit: counted)
        case .lz4: try lz4Decode(file: file, fill: fill, emit: counted)
        case .gzip: try gzipDecode(file: file, fill: fill, emit: counted)
        }
        if let expectedSize, total != expectedSize {
            throw .corrupt(file: file, reason: "decompresses to \(total) bytes, expected \(expectedSize)")
        }
        return total
    }

    static func allocate() -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    }
}
