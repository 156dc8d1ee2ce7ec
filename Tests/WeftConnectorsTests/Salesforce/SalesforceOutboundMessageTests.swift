import Foundation
import Testing
import WeftCore

@testable import WeftConnectors

@Suite struct SalesforceOutboundMessageTests {
    /// The shape Salesforce sends (OrganizationId, ActionId, nil SessionId, URLs, several notifications whose sObjects
    /// bind `sf` locally), with entities, a character reference, CDATA and a nil field.
    static let message = """
        <?xml version="1.0" encoding="UTF-8"?>
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
         <soapenv:Body>
          <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
           <OrganizationId>00D5g000004SimAEAS</OrganizationId>
           <ActionId>04k5g0000008V3hAAE</ActionId>
           <SessionId xsi:nil="true"/>
           <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004SimA</EnterpriseUrl>
           <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004SimA</PartnerUrl>
           <Notification>
            <Id>04l5g00005286hAAAQ</Id>
            <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
             <sf:Id>0065g000023STAmAAO</sf:Id>
             <sf:AccountId>0015g00002BFDeLAAX</sf:AccountId>
             <sf:Amount>45000.0</sf:Amount>
             <sf:CloseDate>2024-07-11</sf:CloseDate>
             <sf:IsWon>true</sf:IsWon>
             <sf:Name>Smith &amp; Sons &lt;EU&gt; &#8364;45k</sf:Name>
             <sf:StageName>Closed Won</sf:StageName>
             <sf:Weft_Key__c><![CDATA[opp-<42>&co]]></sf:Weft_Key__c>
             <sf:ERP_Order_Ref__c xsi:nil="true"/>
            </sObject>
           </Notification>
           <Notification>
            <Id>04l5g00005286hBAAQ</Id>
            <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
             <sf:Id>0065g000023STAnAAO</sf:Id>
             <sf:StageName>Negotiation/Review</sf:StageName>
            </sObject>
           </Notification>
           <!-- a comment between notifications -->
           <Notification>
            <Id>04l5g00005286hCAAQ</Id>
            <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
             <sf:Id>0015g00002BFDeLAAX</sf:Id>
             <sf:Name>Smith &quot;Holdings&quot; &apos;EU&apos;</sf:Name>
            </sObject>
           </Notification>
          </notifications>
         </soapenv:Body>
        </soapenv:Envelope>
        """

    @Test func parsesARealisticMessage() throws {
        let message = try SalesforceOutboundMessage.parse(Array(Self.message.utf8))
        #expect(message.organizationID == "00D5g000004SimAEAS")
        #expect(message.actionID == "04k5g0000008V3hAAE")
        #expect(message.sessionID == nil)
        #expect(message.enterpriseURL == "https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004SimA")
        #expect(message.partnerURL?.hasSuffix("/services/Soap/u/62.0/00D5g000004SimA") == true)
        #expect(message.notifications.map(\.id) == ["04l5g00005286hAAAQ", "04l5g00005286hBAAQ", "04l5g00005286hCAAQ"])
        #expect(message.notifications.map(\.objectType) == ["Opportunity", "Opportunity", "Account"])
        #expect(message.notifications.map(\.recordID) == ["0065g000023STAmAAO", "0065g000023STAnAAO", "0015g00002BFDeLAAX"])

        let won = message.notifications[0]
        #expect(won["Name"] == "Smith & Sons <EU> €45k")
        #expect(won["Weft_Key__c"] == "opp-<42>&co")
        #expect(won["Amount"] == "45000.0")
        #expect(won["IsWon"] == "true")
        #expect(won.fields["ERP_Order_Ref__c"] == .null)
        #expect(won["StageName"] == "Closed Won")
        #expect(won.fields.count == 9)
        #expect(message.notifications[2]["Name"] == #"Smith "Holdings" 'EU'"#)
    }

    @Test func prefixesAreResolvedByNamespaceNotByName() throws {
        let body = """
            <S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>\
            <out:notifications xmlns:out="http://soap.sforce.com/2005/09/outbound" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\
            <out:OrganizationId>00D5g000004SimA</out:OrganizationId><out:ActionId>04k5g0000008V3h</out:ActionId>\
            <out:SessionId>00D5g!AQ0sessiontoken</out:SessionId>\
            <out:Notification><out:Id>04l1</out:Id><out:sObject i:type="o:Opportunity" xmlns:o="urn:sobject.enterprise.soap.sforce.com">\
            <o:Id>0065g000023STAm</o:Id><o:Name i:nil="1"></o:Name></out:sObject></out:Notification>\
            </out:notifications></S:Body></S:Envelope>
            """
        let message = try SalesforceOutboundMessage.parse(Array(body.utf8))
        #expect(message.notifications.first?.objectType == "Opportunity")
        #expect(message.notifications.first?.fields["Name"] == .null)
        #expect(message.sessionID == "00D5g!AQ0sessiontoken")
        #expect(!message.description.contains("AQ0sessiontoken"))

        // The same names in the wrong namespace are not a Salesforce message.
        let wrong = body.replacingOccurrences(of: "http://soap.sforce.com/2005/09/outbound", with: "urn:other")
        let error = #expect(throws: SalesforceOutboundMessageError.self) {
            try SalesforceOutboundMessage.parse(Array(wrong.utf8))
        }
        #expect(error?.code == .malformed)
    }

    @Test func malformedBodiesAreRefusedWithoutEchoingThem() {
        let bodies = [
            "", "not xml", "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">",
            Self.message.replacingOccurrences(of: "</sf:Amount>", with: "</sf:Amnt>"),
            Self.message.replacingOccurrences(of: "&amp; Sons", with: "&ent; Sons"),
            Self.message.replacingOccurrences(of: "xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\"", with: ""),
            "<!DOCTYPE x [<!ENTITY a \"SECRETVALUE\">]>"
                + Self.message.replacingOccurrences(of: #"<?xml version="1.0" encoding="UTF-8"?>"#, with: ""),
            Self.message.replacingOccurrences(of: "<Id>04l5g00005286hBAAQ</Id>", with: ""),
            Self.message.replacingOccurrences(of: #" xsi:type="sf:Account""#, with: ""),
            String(repeating: "<a>", count: 100) + "SECRETVALUE" + String(repeating: "</a>", count: 100),
        ]
        for body in bodies {
            let error = #expect(throws: SalesforceOutboundMessageError.self) {
                try SalesforceOutboundMessage.parse(Array(body.utf8))
            }
            #expect(error?.code == .malformed)
            #expect(error.map { !"\($0)".contains("SECRETVALUE") && !"\($0)".contains("Smith") } == true)
        }
    }

    @Test func verifiesTheOrgByItsFirstFifteenCharacters() throws {
        let message = try SalesforceOutboundMessage.parse(Array(Self.message.utf8))
        try message.verify(organizationID: "00D5g000004SimAEAS")
        try message.verify(organizationID: "00D5g000004SimA")
        try message.verify(organizationID: " 00D5g000004SimA\n")
        for other in ["00D5g000004Sima", "00D5g000004SimB", "00D5g000004SimBEAS", "00D5g000004Si", "", "00D5g000004SimA!!!"] {
            let error = #expect(throws: SalesforceOutboundMessageError.self) { try message.verify(organizationID: other) }
            #expect(error?.code == .organizationMismatch)
        }
        var fifteen = message
        fifteen.organizationID = "00D5g000004SimA"
        try fifteen.verify(organizationID: "00D5g000004SimAEAS")
    }

    @Test func theAcknowledgementIsSalesforcesExactBodyAndFaultsEscapeTheirReason() throws {
        #expect(
            SalesforceOutboundMessage.ackResponse
                == #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#
        )
        // The ack parses as a notificationsResponse of the outbound namespace whose Ack is true.
        let ack = try SOAPScanner.parse(Array(SalesforceOutboundMessage.ackResponse.utf8))
        let response = ack.child("Body")?.child("notificationsResponse")
        #expect(response?.namespace == "http://soap.sforce.com/2005/09/outbound")
        #expect(response?.child("Ack")?.text == "true")

        let fault = SalesforceOutboundMessage.faultResponse("org <00D…> & not ours")
        #expect(fault.contains("<faultcode>soapenv:Client</faultcode>"))
        #expect(fault.contains("<faultstring>org &lt;00D…&gt; &amp; not ours</faultstring>"))
        let parsed = try SOAPScanner.parse(Array(fault.utf8))
        #expect(parsed.child("Body")?.child("Fault")?.child("faultstring")?.text == "org <00D…> & not ours")
        #expect(SalesforceOutboundMessage.faultResponse("x", client: false).contains("soapenv:Server"))
    }
}
