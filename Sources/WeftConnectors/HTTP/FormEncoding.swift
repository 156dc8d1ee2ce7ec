import Foundation

/// Percent-encoding that keeps only RFC 3986's unreserved characters (ASCII letters and digits, `-._~`), and the
/// `name=value&…` pairs of an `application/x-www-form-urlencoded` body or a query string built with it.
public enum FormEncoding {
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `text` with every character outside the unreserved set percent-encoded.
    public static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// `pairs` as `name=value` joined by `&`, both sides escaped.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}
