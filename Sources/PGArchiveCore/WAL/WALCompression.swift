import CLZ4
import CZlib
import CZstd
import Foundation
import Logging
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

    private static func allocate() -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    }

    // MARK: zstd

    private static func zstdCompress(_ input: UnsafeRawBufferPointer) throws(WALCompressionError) -> [UInt8] {
        guard let cctx = ZSTD_createCCtx() else { throw .failed("zstd: cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(cctx) }
        for (parameter, value) in [(ZSTD_c_compressionLevel, zstdLevel), (ZSTD_c_checksumFlag, 1), (ZSTD_c_contentSizeFlag, 1)] {
            let r = ZSTD_CCtx_setParameter(cctx, parameter, value)
            if ZSTD_isError(r) != 0 { throw .failed("zstd: cannot set a compression parameter: \(String(cString: ZSTD_getErrorName(r)))") }
        }
        let bound = ZSTD_compressBound(input.count)
        var result = 0
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            result = ZSTD_compress2(cctx, buffer.baseAddress, bound, input.baseAddress, input.count)
            count = ZSTD_isError(result) != 0 ? 0 : result
        }
        if ZSTD_isError(result) != 0 { throw .failed("zstd compression failed: \(String(cString: ZSTD_getErrorName(result)))") }
        return output
    }

    private static func zstdDecode(file: String, fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
                                   emit: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void) throws(WALCompressionError) {
        guard let dctx = ZSTD_createDCtx() else { throw .failed("zstd: cannot allocate a decompression context") }
        defer { ZSTD_freeDCtx(dctx) }
        let input = allocate(), output = allocate()
        defer { input.deallocate(); output.deallocate() }
        var sawInput = false
        var frameOpen = false // inside a frame that has not ended (and been verified) yet
        while true {
            let n = try fill(input)
            if n == 0 { break }
            sawInput = true
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: n, pos: 0)
            var outputFull: Bool
            repeat {
                var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
                let r = ZSTD_decompressStream(dctx, &outBuffer, &inBuffer)
                if ZSTD_isError(r) != 0 {
                    let name = String(cString: ZSTD_getErrorName(r))
                    if name.lowercased().contains("checksum") {
                        throw .corrupt(file: file, reason: "checksum mismatch (zstd XXH64: \(name))")
                    } else if name.lowercased().contains("unknown frame descriptor") && !frameOpen {
                        throw .corrupt(file: file, reason: "not a zstd frame (\(name))")
                    }
                    throw .corrupt(file: file, reason: "invalid zstd data (\(name))")
                }
                if outBuffer.pos > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<outBuffer.pos])) }
                // 0: a frame ended here, fully flushed, its checksum verified.
                frameOpen = r != 0
                outputFull = outBuffer.pos == outBuffer.size
                // A full output buffer may hide more output, unless the frame just ended.
            } while inBuffer.pos < inBuffer.size || (outputFull && frameOpen)
        }
        if !sawInput { throw .corrupt(file: file, reason: "empty file (no zstd frame)") }
        if frameOpen { throw .corrupt(file: file, reason: "truncated frame (the file ends inside a zstd frame)") }
    }

    // MARK: lz4

    private static func lz4Preferences(contentSize: Int) -> LZ4F_preferences_t {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max4MB
        preferences.frameInfo.blockMode = LZ4F_blockLinked
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        preferences.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
        preferences.frameInfo.contentSize = UInt64(contentSize)
        preferences.compressionLevel = lz4Level
        return preferences
    }

    private static func lz4Compress(_ input: UnsafeRawBufferPointer) throws(WALCompressionError) -> [UInt8] {
        var preferences = lz4Preferences(contentSize: input.count)
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var result = 0
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            result = LZ4F_compressFrame(buffer.baseAddress, bound, input.baseAddress, input.count, &preferences)
            count = LZ4F_isError(result) != 0 ? 0 : result
        }
        if LZ4F_isError(result) != 0 { throw .failed("lz4 compression failed: \(String(cString: LZ4F_getErrorName(result)))") }
        return output
    }

    private static func lz4Decode(file: String, fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
                                  emit: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void) throws(WALCompressionError) {
        var dctx: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let dctx else { throw .failed("lz4: cannot allocate a decompression context") }
        defer { LZ4F_freeDecompressionContext(dctx) }
        let input = allocate(), output = allocate()
        defer { input.deallocate(); output.deallocate() }
        var sawInput = false
        var frameOpen = false
        while true {
            let n = try fill(input)
            if n == 0 { break }
            sawInput = true
            var position = 0
            var outputFull: Bool
            repeat {
                var produced = output.count
                var consumed = n - position
                let r = LZ4F_decompress(dctx, output.baseAddress, &produced, input.baseAddress! + position, &consumed, nil)
                if LZ4F_isError(r) != 0 {
                    let name = String(cString: LZ4F_getErrorName(r))
                    if name.contains("Checksum_invalid") {
                        throw .corrupt(file: file, reason: "checksum mismatch (lz4 \(name))")
                    } else if name.contains("frameType_unknown") {
                        throw .corrupt(file: file, reason: "not an lz4 frame (\(name))")
                    } else if name.contains("frameSize_wrong") {
                        throw .corrupt(file: file, reason: "size differs from the frame's content size (lz4 \(name))")
                    }
                    throw .corrupt(file: file, reason: "invalid lz4 data (\(name))")
                }
                position += consumed
                if produced > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
                // 0: the frame ended here and its checksum (if it carries one) was verified.
                frameOpen = r != 0
                outputFull = produced == output.count
                if consumed == 0 && produced == 0 { break } // no progress: needs more input
            } while position < n || (outputFull && frameOpen)
        }
        if !sawInput { throw .corrupt(file: file, reason: "empty file (no lz4 frame)") }
        if frameOpen { throw .corrupt(file: file, reason: "truncated frame (the file ends inside an lz4 frame)") }
    }

    // MARK: gzip

    /// windowBits 15 + 16: a deflate stream in the gzip wrapper (header, CRC32 and ISIZE trailer).
    private static let gzipWindowBits: Int32 = 15 + 16

    private static func gzipCompress(_ input: UnsafeRawBufferPointer) throws(WALCompressionError) -> [UInt8] {
        var stream = z_stream()
        let initialized = deflateInit2_(&stream, gzipLevel, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                                        zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else { throw .failed("zlib: deflateInit2 failed (\(initialized))") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var status = Z_OK
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            stream.next_out = buffer.baseAddress
            stream.avail_out = uInt(bound)
            var offset = 0
            repeat {
                // avail_in is 32 bits: feed at most 1 GiB at a time.
                let n = min(input.count - offset, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.advanced(by: offset).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                offset += n
                status = deflate(&stream, offset == input.count ? Z_FINISH : Z_NO_FLUSH)
            } while offset < input.count && status == Z_OK
            count = status == Z_STREAM_END ? bound - Int(stream.avail_out) : 0
        }
        guard status == Z_STREAM_END else { throw .failed("zlib: deflate failed (\(status))") }
        return output
    }

    private static func gzipDecode(file: String, fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
                                   emit: (UnsafeRawBufferPointer) throws(WALCompressionError) -> Void) throws(WALCompressionError) {
        var stream = z_stream()
        let initialized = inflateInit2_(&stream, gzipWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else { throw .failed("zlib: inflateInit2 failed (\(initialized))") }
        defer { inflateEnd(&stream) }
        let input = allocate(), output = allocate()
        defer { input.deallocate(); output.deallocate() }
        var sawInput = false
        var memberEnded = false // the last gzip member ended and its CRC32 and length were verified
        while true {
            let n = try fill(input)
            if n == 0 { break }
            sawInput = true
            stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(n)
            var outputFull: Bool
            repeat {
                if memberEnded {
                    // More bytes after a complete member: gzip allows concatenated members.
                    inflateReset(&stream)
                    memberEnded = false
                }
                stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(output.count)
                let status = inflate(&stream, Z_NO_FLUSH)
                let produced = output.count - Int(stream.avail_out)
                switch status {
                case Z_OK, Z_BUF_ERROR: break
                case Z_STREAM_END: memberEnded = true
                case Z_MEM_ERROR: throw .failed("zlib: out of memory decompressing \(file)")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    switch message {
                    case "incorrect data check": throw .corrupt(file: file, reason: "checksum mismatch (gzip CRC32)")
                    case "incorrect length check": throw .corrupt(file: file, reason: "length differs from the gzip trailer's")
                    case "incorrect header check", "unknown compression method":
                        throw .corrupt(file: file, reason: "not a gzip stream (\(message))")
                    default: throw .corrupt(file: file, reason: "invalid deflate data (\(message))")
                    }
                }
                if produced > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
                outputFull = produced == output.count
                if status == Z_BUF_ERROR && produced == 0 { break } // needs more input
            } while stream.avail_in > 0 || (outputFull && !memberEnded)
        }
        if !sawInput { throw .corrupt(file: file, reason: "empty file (no gzip stream)") }
        if !memberEnded { throw .corrupt(file: file, reason: "truncated stream (the file ends before the gzip trailer)") }
    }

    // MARK: Files

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(WALCompressionError) {
        let error = bytes.withUnsafeBytes { writeLoop(fd, $0) }
        if error != 0 { throw .failed("cannot write \(path): \(String(cString: strerror(error)))") }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(WALCompressionError) {
        let error = writeLoop(fd, bytes)
        if error != 0 { throw .failed("cannot write \(path): \(String(cString: strerror(error)))") }
    }

    /// Writes all of `bytes`; 0 or the errno of the failed write.
    private static func writeLoop(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }

    /// Reads exactly `size` bytes from `fd` (from offset 0).
    static func readExactly(_ fd: Int32, size: Int, path: String) throws(WALCompressionError) -> [UInt8] {
        var failure: WALCompressionError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var offset = 0
            while offset < size {
                let n = pread(fd, buffer.baseAddress! + offset, size - offset, off_t(offset))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .failed("cannot read \(path): \(String(cString: strerror(errno)))")
                    break
                }
                if n == 0 {
                    failure = .failed("\(path) shrank while it was read (\(offset) of \(size) bytes)")
                    break
                }
                offset += n
            }
            count = failure == nil ? size : 0
        }
        if let failure { throw failure }
        return bytes
    }

    static func fsyncDirectory(_ path: String) throws(WALCompressionError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed("cannot open directory \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .failed("cannot fsync directory \(path): \(String(cString: strerror(errno)))") }
    }
}

// MARK: - Compressing the archive

/// The outcome of one `wal compress` run (or `cron compress-wal`).
public struct CompressionReport: Sendable, Equatable {
    /// The algorithm used; `nil` when `wal_compression = none` (nothing was done).
    public var algorithm: WALCompression.Algorithm?
    /// Segments compressed in this run.
    public var compressed = 0
    /// Their size before and after.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
    /// Originals that an interrupted run left beside their finished compressed copy: the copy
    /// was verified against the original and the original removed.
    public var resolved = 0
    /// `NAME.zst.tmp.PID` files of runs that died, removed.
    public var staleTemporaryFilesRemoved = 0
    /// Files that could not be compressed (wrong size, I/O error, a compressed copy that differs
    /// from its original…), one message each. They were left as they were.
    public var failures: [String] = []

    public init(algorithm: WALCompression.Algorithm?) { self.algorithm = algorithm }

    /// Original size over compressed size (1 when nothing was compressed).
    public var ratio: Double { bytesAfter > 0 ? Double(bytesBefore) / Double(bytesAfter) : 1 }

    /// One line: `compressed 12 segments: 192.0 MiB → 14.2 MiB (ratio 13.52) with zstd`, plus
    /// what else happened (originals resolved, stale files removed, problems).
    public var summary: String {
        guard let algorithm else { return "wal_compression = none: WAL segments are left uncompressed" }
        var text = "compressed \(compressed) segment\(compressed == 1 ? "" : "s"): \(ByteCount.human(bytesBefore)) → \(ByteCount.human(bytesAfter))"
        if compressed > 0 { text += " (ratio \(String(format: "%.2f", ratio)))" }
        text += " with \(algorithm)"
        if resolved > 0 { text += "; removed \(resolved) original\(resolved == 1 ? "" : "s") already compressed by an interrupted run" }
        if staleTemporaryFilesRemoved > 0 { text += "; removed \(staleTemporaryFilesRemoved) stale temporary file\(staleTemporaryFilesRemoved == 1 ? "" : "s")" }
        if !failures.isEmpty { text += "; \(failures.count) problem\(failures.count == 1 ? "" : "s"), first: \(failures[0])" }
        return text
    }
}

extension WALArchive {
    /// `NAME.zst.tmp.PID`: where a segment's compressed copy is written before it is complete.
    /// Not a WAL file name, so `entries()`, `fetch` and pg_receivewal all ignore it.
    static func temporaryName(for finalName: String, pid: pid_t = getpid()) -> String {
        "\(finalName).tmp.\(pid)"
    }

    /// The pid in a temporary file name written by `compress`, or nil if `name` is not one.
    static func temporaryFilePID(_ name: String) -> pid_t? {
        guard let range = name.range(of: ".tmp.", options: .backwards),
              let final = WALFileName.parse(String(name[..<range.lowerBound])),
              final.compression != nil, !final.isPartial, !final.isHistory,
              final.fileName == String(name[..<range.lowerBound]) else { return nil }
        let digits = name[range.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return pid_t(digits)
    }

    /// A temporary file is stale when the run that writes it is gone: its pid is dead, or now
    /// belongs to a program that is not pgarchive. Removing a live run's file by mistake is
    /// harmless too: that run's rename fails and its original stays.
    static func isStale(pid: pid_t) -> Bool {
        guard Processes.isAlive(pid) else { return true }
        guard let argv = Processes.commandLine(of: pid), let program = argv.first else { return pid != getpid() }
        return !(program as NSString).lastPathComponent.contains("pgarchive")
    }

    /// The segment size of the archive as seen from its uncompressed complete segments in the
    /// main directory (the most common size among at most `sample` of them, if it is a valid
    /// WAL segment size); nil when there are none. pg_receivewal writes every complete segment at
    /// full size; `.partial` files are not used, as they grow while pg_receivewal pads them.
    public func inferredSegmentSize(sample: Int = 16) -> UInt64? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        var counts: [UInt64: Int] = [:]
        var seen = 0
        for file in names {
            guard seen < sample, let name = WALFileName.parse(file), !name.isHistory, !name.isPartial, name.compression == nil else { continue }
            var st = stat()
            guard stat(directory + "/" + file, &st) == 0 else { continue }
            seen += 1
            counts[UInt64(st.st_size), default: 0] += 1
        }
        guard let (size, _) = counts.max(by: { $0.value < $1.value }), WALCompression.isValidSegmentSize(size) else { return nil }
        return size
    }

    /// Compresses every completed segment of the archive (and of its `before-resync-*`
    /// directories) with `algorithm`, leaving `.partial` and `.history` files and files already
    /// compressed alone. Needs no lock: see `compressSegment` for why every step is safe against
    /// a concurrent `wal fetch`, another compress run, pg_receivewal, and kill -9.
    ///
    /// Each segment must have the archive's segment size: `segmentSize` when given, else the one
    /// inferred from the archive, else 16 MiB. Per-file problems are reported in `failures` and
    /// do not stop the run; only an unreadable directory throws.
    public func compress(algorithm: WALCompression.Algorithm, logger: Logger) throws(PGArchiveError) -> CompressionReport {
        let size = segmentSize ?? inferredSegmentSize() ?? defaultWALSegmentSize
        var report = CompressionReport(algorithm: algorithm)
        for dir in [directory] + retiredDirectories() {
            try compressDirectory(dir, algorithm: algorithm, segmentSize: size, logger: logger, report: &report)
        }
        return report
    }

    private func compressDirectory(_ dir: String, algorithm: WALCompression.Algorithm, segmentSize: UInt64,
                                   logger: Logger, report: inout CompressionReport) throws(PGArchiveError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw PGArchiveError("cannot list \(dir): \(error.localizedDescription)")
        }
        let present = Set(names)
        // Leftovers of runs killed before their rename: never the only copy of anything.
        for name in names.sorted() {
            guard let pid = Self.temporaryFilePID(name), Self.isStale(pid: pid) else { continue }
            if unlink(dir + "/" + name) == 0 {
                report.staleTemporaryFilesRemoved += 1
                logger.debug("removed stale temporary file \(dir)/\(name) (pid \(pid) is gone)")
            } else if errno != ENOENT {
                report.failures.append("cannot remove stale \(dir)/\(name): \(String(cString: strerror(errno)))")
            }
        }
        for file in names.sorted() {
            guard let name = WALFileName.parse(file), name.fileName == file,
                  !name.isPartial, !name.isHistory, name.compression == nil else { continue }
            let compressedCopies = WALCompression.Algorithm.allCases.filter { present.contains(file + $0.fileSuffix) }
            do {
                if try resolve(dir: dir, file: file, compressedCopies: compressedCopies, segmentSize: segmentSize, logger: logger, report: &report) {
                    continue
                }
                try compressSegment(dir: dir, file: file, algorithm: algorithm, segmentSize: segmentSize, logger: logger, report: &report)
            } catch {
                logger.warning("\(error)")
                report.failures.append(error.description)
            }
        }
    }

    /// A segment present both plain and compressed: a run was killed between its rename and its
    /// unlink, or pg_receivewal streamed the segment again. If a compressed copy decompresses
    /// (checksum and size verified) to exactly the original, the original goes. A corrupt copy
    /// goes instead (the original is intact) and the segment is compressed anew. Two valid
    /// copies that differ are left for a human. Returns true when the segment is dealt with.
    private func resolve(dir: String, file: String, compressedCopies: [WALCompression.Algorithm], segmentSize: UInt64,
                         logger: Logger, report: inout CompressionReport) throws(WALCompressionError) -> Bool {
        guard !compressedCopies.isEmpty else { return false }
        let path = dir + "/" + file
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return true } // finished meanwhile by a concurrent run
            throw .failed("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .failed("cannot stat \(path): \(String(cString: strerror(errno)))") }
        let original = try WALCompression.readExactly(fd, size: Int(st.st_size), path: path)
        var verified: String?
        for algorithm in compressedCopies {
            let copy = path + algorithm.fileSuffix
            do throws(WALCompressionError) {
                let same = try WALCompression.decompressedFile(copy, algorithm: algorithm, expectedSize: segmentSize, equals: original)
                if same {
                    verified = copy
                } else {
                    throw WALCompressionError.failed("\(path) and \(copy) are both complete but differ; left both for inspection")
                }
            } catch let error where error.isCorruption {
                logger.warning("\(error); the original \(path) is intact: replacing \(copy)")
                guard unlink(copy) == 0 || errno == ENOENT else {
                    throw .failed("cannot remove corrupt \(copy): \(String(cString: strerror(errno)))")
                }
                try WALCompression.fsyncDirectory(dir)
            }
        }
        guard let verified else { return false } // only corrupt copies (now removed): compress again
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .failed("cannot remove \(path): \(String(cString: strerror(errno)))")
        }
        try WALCompression.fsyncDirectory(dir)
        report.resolved += 1
        logger.debug("removed \(path): \(verified) was verified to hold it (left by an interrupted run)")
        return true
    }

    /// Compresses one completed segment so that a kill -9 at any point leaves the original, the
    /// finished compressed file, or both (which the next run resolves), never a torn file under
    /// a name `wal fetch` serves:
    ///
    /// 1. compress in memory and write `NAME.zst.tmp.PID` (0600, the original's mtime), fsync;
    /// 2. decompress that file again and compare with the original bytes;
    /// 3. rename it to `NAME.zst` (atomic), fsync the directory;
    /// 4. unlink `NAME`, fsync the directory.
    ///
    /// `wal fetch` opens `NAME` first and `NAME.zst` only if `NAME` does not exist; as `NAME.zst`
    /// is complete before `NAME` disappears, a fetch running alongside always finds one of them.
    private func compressSegment(dir: String, file: String, algorithm: WALCompression.Algorithm, segmentSize: UInt64,
                                 logger: Logger, report: inout CompressionReport) throws(WALCompressionError) {
        let path = dir + "/" + file
        let final = path + algorithm.fileSuffix
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return } // compressed by a concurrent run, or expired
            throw .failed("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .failed("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard UInt64(st.st_size) == segmentSize else {
            throw .failed("\(path) has \(st.st_size) bytes, not the segment size \(segmentSize): left uncompressed")
        }
        let original = try WALCompression.readExactly(fd, size: Int(st.st_size), path: path)
        let compressed = try WALCompression.compress(original, algorithm: algorithm)

        let temporary = dir + "/" + Self.temporaryName(for: file + algorithm.fileSuffix)
        let out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw .failed("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        do throws(WALCompressionError) {
            try WALCompression.writeAll(out, compressed, path: temporary)
            var times = [st.st_atim, st.st_mtim]
            _ = futimens(out, &times)
            FaultInjection.point("compress-wal-writing")
            guard fsync(out) == 0 else { throw WALCompressionError.failed("cannot fsync \(temporary): \(String(cString: strerror(errno)))") }
            guard close(out) == 0 else { throw WALCompressionError.failed("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        } catch {
            close(out)
            unlink(temporary)
            throw error
        }
        do throws(WALCompressionError) {
            // Read back what is on disk, not the buffer in memory.
            let same = try WALCompression.decompressedFile(temporary, algorithm: algorithm, expectedSize: segmentSize, equals: original)
            guard same else { throw WALCompressionError.failed("\(temporary) does not decompress to \(path); left \(path) uncompressed") }
            // The original may have been unlinked meanwhile, by expiry or by a concurrent run that
            // finished it: then a compressed copy would resurrect an expired segment, or is redundant.
            var now = stat()
            if fstat(fd, &now) == 0 && now.st_nlink == 0 {
                unlink(temporary)
                return
            }
            guard rename(temporary, final) == 0 else {
                throw WALCompressionError.failed("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        try WALCompression.fsyncDirectory(dir)
        FaultInjection.point("compress-wal-renamed")
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .failed("compressed \(final) but cannot remove \(path): \(String(cString: strerror(errno)))")
        }
        try WALCompression.fsyncDirectory(dir)
        report.compressed += 1
        report.bytesBefore += Int64(original.count)
        report.bytesAfter += Int64(compressed.count)
        logger.debug("compressed \(path) with \(algorithm): \(original.count) → \(compressed.count) bytes")
    }
}

extension Container {
    /// Compresses the completed WAL segments with `wal_compression` (nothing for `none`), logging
    /// one line per file at debug level and a summary at info level. Takes no lock: compression is
    /// safe against everything that may run beside it (see `WALArchive.compress`).
    ///
    /// The segment size comes from the newest snapshot's pg_control (recorded in its metadata),
    /// else from the archive's own uncompressed segments.
    public func compressWAL(logger: Logger? = nil) throws(PGArchiveError) -> CompressionReport {
        let logger = logger ?? self.logger
        guard let algorithm = WALCompression.algorithm(configValue: config.walCompression) else {
            let report = CompressionReport(algorithm: nil)
            logger.info("\(report.summary)")
            return report
        }
        let segmentSize = (try? snapshots.list())?.last?.walSegmentSize
        let archive = WALArchive(directory: layout.walArchive, segmentSize: segmentSize)
        let report = try archive.compress(algorithm: algorithm, logger: logger)
        if report.failures.isEmpty {
            logger.info("\(report.summary)")
        } else {
            logger.warning("\(report.summary)")
        }
        return report
    }
}
