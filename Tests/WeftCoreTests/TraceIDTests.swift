import Testing

@testable import WeftCore

@Suite("Trace ids")
struct TraceIDTests {
    /// W3C trace-context form: 32 lowercase hex digits, not all zero; each call a new one.
    @Test func aRandomTraceIDIs32LowercaseHexDigitsAndNewEachTime() {
        let ids = (0..<1000).map { _ in TraceID.random().rawValue }
        let hex = Set("0123456789abcdef")
        for id in ids {
            #expect(id.count == 32 && id.allSatisfy(hex.contains), "\(id)")
            #expect(id != String(repeating: "0", count: 32))
        }
        #expect(Set(ids).count == ids.count)
    }

    /// The hex is of the bytes in memory order, two digits each, leading zeros kept.
    @Test func theHexKeepsEveryByteAndItsLeadingZero() {
        let value: (UInt64, UInt64) = (UInt64(littleEndian: 0x0f0e_0d0c_0b0a_0100), UInt64(littleEndian: 0xffee_ddcc_bbaa_9980))
        #expect(TraceID.hex(value) == "00010a0b0c0d0e0f8099aabbccddeeff")
    }
}
