import WeftSimKit

/// The simulators' order-keeping JSON value (WeftSimKit), under the short names this module uses.
typealias JSON = SimJSON
typealias JSONObject = SimJSONObject
