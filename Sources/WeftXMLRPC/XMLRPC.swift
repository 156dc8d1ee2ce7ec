/// Encoding and decoding of XML-RPC calls and responses.
///
/// Calls are written byte for byte as Python's `xmlrpc.client` writes them (what Odoo's external API documentation
/// uses); responses as Odoo's server writes them (`<?xml version="1.0"?>` and a blank line before
/// `</methodResponse>`). Decoding accepts both layouts and any insignificant whitespace.
public enum XMLRPC {
    /// Serialises a `<methodCall>`.
    /// - Parameters:
    ///   - method: the method name (`execute_kw`, `authenticate`, …).
    ///   - params: the positional parameters.
    public static func encodeCall(method: String, params: [XMLRPCValue]) -> String {
        var writer = XMLRPCWriter(capacity: 256 + params.count * 64)
        writer.append("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
        writer.appendEscaped(method)
        writer.append("</methodName>\n<params>\n")
        for param in params {
            writer.append("<param>\n")
            writer.write(param)
            writer.append("</param>\n")
        }
        writer.append("</params>\n</methodCall>\n")
        return writer.output
    }

    /// Parses a `<methodCall>` into its method name and positional parameters.
    public static func decodeCall(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> (method: String, params: [XMLRPCValue]) {
        var scanner = XMLRPCScanner(bytes)
        return try scanner.parseCall()
    }

    /// Serialises a successful `<methodResponse>` carrying `value`.
    public static func encodeResponse(_ value: XMLRPCValue) -> String {
        var writer = XMLRPCWriter()
        writer.append("<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n")
        writer.write(value)
        writer.append("</param>\n</params>\n\n</methodResponse>\n")
        return writer.output
    }

    /// Serialises a fault `<methodResponse>`.
    /// - Parameters:
    ///   - code: `faultCode`, an `int` (Odoo: 1 server error, 2 user/validation/missing, 3 access denied, 4 access
    ///     error) or a string (Odoo's legacy `/xmlrpc/` endpoints).
    ///   - message: `faultString`.
    public static func encodeFault(code: XMLRPCValue, message: String) -> String {
        var writer = XMLRPCWriter()
        writer.append("<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n")
        writer.write(.structure(["faultCode": code, "faultString": .string(message)]))
        writer.append("</fault>\n\n</methodResponse>\n")
        return writer.output
    }

    /// Parses a `<methodResponse>` into its value or its fault.
    public static func decodeResponse(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> XMLRPCResponse {
        var scanner = XMLRPCScanner(bytes)
        return try scanner.parseResponse()
    }
}
