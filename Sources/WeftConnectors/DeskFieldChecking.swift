public import Logging
public import WeftCore

/// A support desk whose fields Weft checks before it starts: the configured fields the desk lacks, and dropdowns
/// that cannot show what Weft writes (`DeskFieldMap.choiceProblems`).
public protocol DeskFieldChecking: Sendable {
    /// Where an admin creates or edits the fields, for the message that names them.
    static var fieldsPlace: String { get }

    /// The configured fields the desk lacks, and the choice problems of its dropdowns under `rules`.
    func fieldProblems(rules: EntitlementRules, system: String, logger: Logger) async throws -> (
        missing: [String], choices: [String]
    )
}
