/// A decoded `<methodResponse>`: one value, or a fault.
public enum XMLRPCResponse: Sendable, Hashable {
    /// `<params><param>` with the returned value.
    case value(XMLRPCValue)
    /// `<fault>`: `faultCode` (an `int`, or a string on Odoo's legacy `/xmlrpc/` endpoints) and `faultString`.
    case fault(code: XMLRPCValue, message: String)
}
