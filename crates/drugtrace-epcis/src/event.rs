//! One EPCIS event, typed: what happened (`type`, `action`), when, to what (EPCs and
//! quantities), where, why (business step, disposition, transactions, sources and
//! destinations), and everything else the sender wrote, kept as JSON.

use std::fmt;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::Epc;
use crate::namespaces::Namespaces;
use crate::time::TimeZoneOffset;
use crate::vocab::{BizStep, BizTransactionType, Disposition, ErrorReason, SourceDestType};

/// The five EPCIS 2.0 event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something observed, created or ended about objects (`ObjectEvent`).
    Object,
    /// Objects packed into or unpacked from a parent (`AggregationEvent`).
    Aggregation,
    /// Objects tied to or untied from a business transaction (`TransactionEvent`).
    Transaction,
    /// Inputs consumed to make outputs (`TransformationEvent`).
    Transformation,
    /// Objects associated with or dissociated from a parent, such as a sensor (`AssociationEvent`).
    Association,
}

impl EventType {
    /// The type's name as EPCIS writes it (`ObjectEvent`).
    pub fn name(self) -> &'static str {
        match self {
            EventType::Object => "ObjectEvent",
            EventType::Aggregation => "AggregationEvent",
            EventType::Transaction => "TransactionEvent",
            EventType::Transformation => "TransformationEvent",
            EventType::Association => "AssociationEvent",
        }
    }

    /// The type of an EPCIS name, such as `"AggregationEvent"`.
    pub fn from_name(name: &str) -> Option<EventType> {
        [
            EventType::Object,
            EventType::Aggregation,
            EventType::Transaction,
            EventType::Transformation,
            EventType::Association,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an event did to the objects it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The objects came into being, or into the relation the event describes.
    Add,
    /// The objects were seen; nothing about them changed.
    Observe,
    /// The objects ceased to exist, or left the relation.
    Delete,
}

impl Action {
    /// The action as EPCIS writes it (`ADD`).
    pub fn name(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    /// Reads `ADD`, `OBSERVE` or `DELETE`.
    pub fn from_name(name: &str) -> Option<Action> {
        match name {
            "ADD" => Some(Action::Add),
            "OBSERVE" => Some(Action::Observe),
            "DELETE" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// A quantity of a class of objects: a product, or a batch of one.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityElement {
    pub(crate) epc_class: Epc,
    pub(crate) quantity: Option<f64>,
    pub(crate) uom: Option<String>,
}

impl QuantityElement {
    /// The class: usually an LGTIN (a batch) or a GTIN class.
    pub fn epc_class(&self) -> &Epc {
        &self.epc_class
    }

    /// How many or how much, when stated.
    pub fn quantity(&self) -> Option<f64> {
        self.quantity
    }

    /// The unit of measure (UN/CEFACT Rec. 20 code, such as `KGM`); none means a count.
    pub fn uom(&self) -> Option<&str> {
        self.uom.as_deref()
    }
}

/// A business transaction the event took part in.
#[derive(Debug, Clone, PartialEq)]
pub struct BizTransaction {
    pub(crate) kind: Option<BizTransactionType>,
    pub(crate) id: String,
}

impl BizTransaction {
    /// The transaction's type (purchase order, despatch advice, …), when stated.
    pub fn kind(&self) -> Option<&BizTransactionType> {
        self.kind.as_ref()
    }

    /// The transaction's identifier, a URI.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A source or destination of a transfer: a party or a location, by its role.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDest {
    pub(crate) kind: SourceDestType,
    pub(crate) id: Epc,
}

impl SourceDest {
    /// The role: owning party, possessing party, location, or one of the sender's own.
    pub fn kind(&self) -> &SourceDestType {
        &self.kind
    }

    /// Who or where: usually a PGLN or an SGLN.
    pub fn id(&self) -> &Epc {
        &self.id
    }
}

/// A read point or business location: its identifier and any extension fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub(crate) id: Epc,
    pub(crate) extensions: Map<String, Value>,
}

impl Location {
    /// The location's identifier, usually an SGLN.
    pub fn id(&self) -> &Epc {
        &self.id
    }

    /// User extension fields written inside the location, keyed as JSON-LD writes them.
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }
}

/// Dispositions that stay with the objects until unset, as opposed to the event's own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PersistentDisposition {
    pub(crate) set: Vec<Disposition>,
    pub(crate) unset: Vec<Disposition>,
}

impl PersistentDisposition {
    /// Dispositions this event sets.
    pub fn set(&self) -> &[Disposition] {
        &self.set
    }

    /// Dispositions this event clears.
    pub fn unset(&self) -> &[Disposition] {
        &self.unset
    }
}

/// The statement, carried by an event, that an earlier event with the same identity was in
/// error.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDeclaration {
    pub(crate) declaration_time: Timestamp,
    pub(crate) reason: Option<ErrorReason>,
    pub(crate) corrective_event_ids: Vec<String>,
    pub(crate) extensions: Map<String, Value>,
}

impl ErrorDeclaration {
    /// When the error was declared.
    pub fn declaration_time(&self) -> Timestamp {
        self.declaration_time
    }

    /// Why, when stated.
    pub fn reason(&self) -> Option<&ErrorReason> {
        self.reason.as_ref()
    }

    /// The events that correct the erroneous one.
    pub fn corrective_event_ids(&self) -> &[String] {
        &self.corrective_event_ids
    }

    /// User extension fields of the declaration.
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }
}

/// One EPCIS event.
///
/// The standard fields are typed; sensor data, instance/lot master data (`ilmd`) and user
/// extension fields are kept as the JSON-LD a sender wrote (an XML sender's converted to the
/// same shape), with the namespaces their prefixes were declared with, so an event written
/// back ([`Event::to_json_ld`]) says everything the sender said. Lists that are absent and
/// lists that are empty are the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub(crate) kind: EventType,
    pub(crate) event_time: Timestamp,
    pub(crate) event_time_zone_offset: TimeZoneOffset,
    pub(crate) record_time: Option<Timestamp>,
    pub(crate) event_id: Option<String>,
    pub(crate) certification_info: Vec<String>,
    pub(crate) error_declaration: Option<ErrorDeclaration>,
    pub(crate) action: Option<Action>,
    pub(crate) parent_id: Option<Epc>,
    pub(crate) epc_list: Vec<Epc>,
    pub(crate) child_epcs: Vec<Epc>,
    pub(crate) input_epc_list: Vec<Epc>,
    pub(crate) output_epc_list: Vec<Epc>,
    pub(crate) quantity_list: Vec<QuantityElement>,
    pub(crate) child_quantity_list: Vec<QuantityElement>,
    pub(crate) input_quantity_list: Vec<QuantityElement>,
    pub(crate) output_quantity_list: Vec<QuantityElement>,
    pub(crate) transformation_id: Option<String>,
    pub(crate) biz_step: Option<BizStep>,
    pub(crate) disposition: Option<Disposition>,
    pub(crate) persistent_disposition: Option<PersistentDisposition>,
    pub(crate) read_point: Option<Location>,
    pub(crate) biz_location: Option<Location>,
    pub(crate) biz_transaction_list: Vec<BizTransaction>,
    pub(crate) source_list: Vec<SourceDest>,
    pub(crate) destination_list: Vec<SourceDest>,
    pub(crate) sensor_element_list: Vec<Value>,
    pub(crate) ilmd: Option<Map<String, Value>>,
    pub(crate) extensions: Map<String, Value>,
    pub(crate) namespaces: Namespaces,
}

impl Event {
    /// The event's type.
    pub fn kind(&self) -> EventType {
        self.kind
    }

    /// When the event happened.
    pub fn event_time(&self) -> Timestamp {
        self.event_time
    }

    /// The time zone offset where it happened, as the event states it.
    pub fn event_time_zone_offset(&self) -> TimeZoneOffset {
        self.event_time_zone_offset
    }

    /// When the sender's EPCIS repository recorded it, when given.
    pub fn record_time(&self) -> Option<Timestamp> {
        self.record_time
    }

    /// The event's identifier, when given: often a hash id (see [`Event::hash_id`]) or a
    /// UUID URN.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// URIs of certificates the event refers to.
    pub fn certification_info(&self) -> &[String] {
        &self.certification_info
    }

    /// The error declaration, when the event declares an earlier one erroneous.
    pub fn error_declaration(&self) -> Option<&ErrorDeclaration> {
        self.error_declaration.as_ref()
    }

    /// `ADD`, `OBSERVE` or `DELETE`; a transformation has none.
    pub fn action(&self) -> Option<Action> {
        self.action
    }

    /// The parent of an aggregation, transaction or association.
    pub fn parent_id(&self) -> Option<&Epc> {
        self.parent_id.as_ref()
    }

    /// The objects of an object or transaction event.
    pub fn epc_list(&self) -> &[Epc] {
        &self.epc_list
    }

    /// The children of an aggregation or association.
    pub fn child_epcs(&self) -> &[Epc] {
        &self.child_epcs
    }

    /// What a transformation consumed.
    pub fn input_epc_list(&self) -> &[Epc] {
        &self.input_epc_list
    }

    /// What a transformation made.
    pub fn output_epc_list(&self) -> &[Epc] {
        &self.output_epc_list
    }

    /// Quantities of classes of an object or transaction event.
    pub fn quantity_list(&self) -> &[QuantityElement] {
        &self.quantity_list
    }

    /// Quantities of child classes of an aggregation or association.
    pub fn child_quantity_list(&self) -> &[QuantityElement] {
        &self.child_quantity_list
    }

    /// Quantities a transformation consumed.
    pub fn input_quantity_list(&self) -> &[QuantityElement] {
        &self.input_quantity_list
    }

    /// Quantities a transformation made.
    pub fn output_quantity_list(&self) -> &[QuantityElement] {
        &self.output_quantity_list
    }

    /// The identifier tying the parts of one transformation together.
    pub fn transformation_id(&self) -> Option<&str> {
        self.transformation_id.as_deref()
    }

    /// The business step.
    pub fn biz_step(&self) -> Option<&BizStep> {
        self.biz_step.as_ref()
    }

    /// The disposition the objects are in after the event.
    pub fn disposition(&self) -> Option<&Disposition> {
        self.disposition.as_ref()
    }

    /// Dispositions set or unset until further notice.
    pub fn persistent_disposition(&self) -> Option<&PersistentDisposition> {
        self.persistent_disposition.as_ref()
    }

    /// Where the event was observed.
    pub fn read_point(&self) -> Option<&Location> {
        self.read_point.as_ref()
    }

    /// Where the objects are after the event.
    pub fn biz_location(&self) -> Option<&Location> {
        self.biz_location.as_ref()
    }

    /// Business transactions the event took part in.
    pub fn biz_transaction_list(&self) -> &[BizTransaction] {
        &self.biz_transaction_list
    }

    /// Where a transfer came from.
    pub fn source_list(&self) -> &[SourceDest] {
        &self.source_list
    }

    /// Where a transfer went.
    pub fn destination_list(&self) -> &[SourceDest] {
        &self.destination_list
    }

    /// Sensor data, as the JSON-LD `sensorElementList` entries.
    pub fn sensor_element_list(&self) -> &[Value] {
        &self.sensor_element_list
    }

    /// Instance/lot master data (a commissioning's lot, expiry, …), as JSON-LD.
    pub fn ilmd(&self) -> Option<&Map<String, Value>> {
        self.ilmd.as_ref()
    }

    /// User extension fields at the event's top level, keyed as JSON-LD writes them
    /// (`example:myField`).
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }

    /// The namespace prefixes the sender declared, which the extension keys use.
    pub fn namespaces(&self) -> &Namespaces {
        &self.namespaces
    }
}
