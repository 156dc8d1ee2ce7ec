import Foundation
import Testing

@testable import WeftConnectors

@Suite struct SalesforceSOQLTests {
    @Test func interpolatedStringsAreQuotedAndEscaped() {
        let name = #"O'Brien \ "Ltd" "# + "\n" + "' OR Name != '"
        let soql: SalesforceSOQL = "SELECT Id FROM Account WHERE Name = \(name)"
        #expect(soql.text == #"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ \"Ltd\" \n\' OR Name != \''"#)
        #expect(soql.invalidIdentifier == nil)
    }

    @Test func datesNumbersListsAndFieldsHaveTheirSOQLForms() {
        let since = Date(timeIntervalSince1970: 1_704_067_200.75)  // 2024-01-01T00:00:00.750Z
        let soql: SalesforceSOQL = """
            SELECT \(field: "Weft_Key__c") FROM Opportunity WHERE SystemModstamp > \(since) AND CloseDate = \(day: since) \
            AND Amount > \(100) AND IsWon = \(true) AND Weft_Key__c IN \(["K1", "K'2"]) AND Name = \(nil as String?)
            """
        #expect(
            soql.text
                == "SELECT Weft_Key__c FROM Opportunity WHERE SystemModstamp > 2024-01-01T00:00:00Z AND CloseDate = "
                + #"2024-01-01 AND Amount > 100 AND IsWon = true AND Weft_Key__c IN ('K1','K\'2') AND Name = null"#)
        #expect(SalesforceSOQL.dateTime(Date(timeIntervalSince1970: 951_782_399)) == "2000-02-28T23:59:59Z")
        #expect(SalesforceSOQL.dateTime(Date(timeIntervalSince1970: 951_868_800)) == "2000-03-01T00:00:00Z")
        #expect(SalesforceSOQL.dateTime(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
    }

    @Test func aFieldNameThatIsNotAnAPINameIsFlagged() {
        let soql: SalesforceSOQL = "SELECT Id FROM Account WHERE \(field: "Name = 'x' OR Id") != null"
        #expect(soql.invalidIdentifier == "Name = 'x' OR Id")
        #expect(SalesforceSOQL.isIdentifier("Account.Owner.Name"))
        #expect(!SalesforceSOQL.isIdentifier("Weft Key"))
        #expect(!SalesforceSOQL.isIdentifier("1Field"))
        #expect(!SalesforceSOQL.isIdentifier("Account..Name"))
    }

    @Test func likeLiteralsEscapeWildcards() {
        #expect(SalesforceSOQL.likeLiteral("50%_off's", contains: true) == #"'%50\%\_off\'s%'"#)
    }
}
