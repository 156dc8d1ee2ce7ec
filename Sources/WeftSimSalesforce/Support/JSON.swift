import WeftSimKit

/// The simulators' order-keeping JSON value (WeftSimKit), under the short names this module uses.
typealias JSON = SimJSON
typealias JSONObject = SimJSONObject

extension SimJSON {
    /// A number as a `Double` (integers widen), or `nil`.
    var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}
