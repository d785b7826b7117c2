import CZlib
import Foundation

// MARK: gzip

extension WALCompression {
    /// windowBits 15 + 16: a deflate stream in the gzip wrapper (header, CRC32 and ISIZE trailer).
    private static let gzipWindowBits: Int32 = 15 + 16

    static func gzipCompress(_ input: UnsafeRawBufferPointer) throws(WALCompressionError) -> [UInt8] {
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

    static func gzipDecode(file: String, fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
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
}
