import CZstd
import Foundation

// MARK: zstd

extension WALCompression {
    static func zstdCompress(_ input: UnsafeRawBufferPointer) throws(WALCompressionError) -> [UInt8] {
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

    static func zstdDecode(file: String, fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
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
}
