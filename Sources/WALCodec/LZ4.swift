import CLZ4
import Foundation

// MARK: lz4

extension WALCompression {
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

    static func lz4Compress(_ input: UnsafeRawBufferPointer) throws(WALCompressionError) -> [UInt8] {
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

    static func lz4Decode(file: String, fill: (UnsafeMutableRawBufferPointer) throws(WALCompressionError) -> Int,
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
}
