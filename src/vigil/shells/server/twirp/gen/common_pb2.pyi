import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN: _ClassVar[Severity]
    LOW: _ClassVar[Severity]
    MEDIUM: _ClassVar[Severity]
    HIGH: _ClassVar[Severity]
    CRITICAL: _ClassVar[Severity]
UNKNOWN: Severity
LOW: Severity
MEDIUM: Severity
HIGH: Severity
CRITICAL: Severity

class OS(_message.Message):
    __slots__ = ("family", "name", "eosl", "extended", "supplier")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EOSL_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_FIELD_NUMBER: _ClassVar[int]
    family: str
    name: str
    eosl: bool
    extended: bool
    supplier: str
    def __init__(self, family: _Optional[str] = ..., name: _Optional[str] = ..., eosl: _Optional[bool] = ..., extended: _Optional[bool] = ..., supplier: _Optional[str] = ...) -> None: ...

class Repository(_message.Message):
    __slots__ = ("family", "release")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    family: str
    release: str
    def __init__(self, family: _Optional[str] = ..., release: _Optional[str] = ...) -> None: ...

class PackageInfo(_message.Message):
    __slots__ = ("file_path", "packages")
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    file_path: str
    packages: _containers.RepeatedCompositeFieldContainer[Package]
    def __init__(self, file_path: _Optional[str] = ..., packages: _Optional[_Iterable[_Union[Package, _Mapping]]] = ...) -> None: ...

class Application(_message.Message):
    __slots__ = ("type", "file_path", "packages")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    type: str
    file_path: str
    packages: _containers.RepeatedCompositeFieldContainer[Package]
    def __init__(self, type: _Optional[str] = ..., file_path: _Optional[str] = ..., packages: _Optional[_Iterable[_Union[Package, _Mapping]]] = ...) -> None: ...

class PackageRepository(_message.Message):
    __slots__ = ()
    CLASS_FIELD_NUMBER: _ClassVar[int]
    def __init__(self, **kwargs) -> None: ...

class PkgIdentifier(_message.Message):
    __slots__ = ("purl", "bom_ref", "uid")
    PURL_FIELD_NUMBER: _ClassVar[int]
    BOM_REF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    purl: str
    bom_ref: str
    uid: str
    def __init__(self, purl: _Optional[str] = ..., bom_ref: _Optional[str] = ..., uid: _Optional[str] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("start_line", "end_line")
    START_LINE_FIELD_NUMBER: _ClassVar[int]
    END_LINE_FIELD_NUMBER: _ClassVar[int]
    start_line: int
    end_line: int
    def __init__(self, start_line: _Optional[int] = ..., end_line: _Optional[int] = ...) -> None: ...

class Layer(_message.Message):
    __slots__ = ("digest", "diff_id", "created_by", "size")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    digest: str
    diff_id: str
    created_by: str
    size: int
    def __init__(self, digest: _Optional[str] = ..., diff_id: _Optional[str] = ..., created_by: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class Package(_message.Message):
    __slots__ = ("name", "version", "release", "epoch", "arch", "src_name", "src_version", "src_release", "src_epoch", "layer", "file_path", "id", "depends_on", "licenses", "digest", "dev", "indirect", "identifier", "locations", "maintainer", "relationship", "analyzed_by", "repository")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    SRC_NAME_FIELD_NUMBER: _ClassVar[int]
    SRC_VERSION_FIELD_NUMBER: _ClassVar[int]
    SRC_RELEASE_FIELD_NUMBER: _ClassVar[int]
    SRC_EPOCH_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DEV_FIELD_NUMBER: _ClassVar[int]
    INDIRECT_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    MAINTAINER_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    ANALYZED_BY_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    release: str
    epoch: int
    arch: str
    src_name: str
    src_version: str
    src_release: str
    src_epoch: int
    layer: Layer
    file_path: str
    id: str
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    licenses: _containers.RepeatedScalarFieldContainer[str]
    digest: str
    dev: bool
    indirect: bool
    identifier: PkgIdentifier
    locations: _containers.RepeatedCompositeFieldContainer[Location]
    maintainer: str
    relationship: int
    analyzed_by: str
    repository: PackageRepository
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., release: _Optional[str] = ..., epoch: _Optional[int] = ..., arch: _Optional[str] = ..., src_name: _Optional[str] = ..., src_version: _Optional[str] = ..., src_release: _Optional[str] = ..., src_epoch: _Optional[int] = ..., layer: _Optional[_Union[Layer, _Mapping]] = ..., file_path: _Optional[str] = ..., id: _Optional[str] = ..., depends_on: _Optional[_Iterable[str]] = ..., licenses: _Optional[_Iterable[str]] = ..., digest: _Optional[str] = ..., dev: _Optional[bool] = ..., indirect: _Optional[bool] = ..., identifier: _Optional[_Union[PkgIdentifier, _Mapping]] = ..., locations: _Optional[_Iterable[_Union[Location, _Mapping]]] = ..., maintainer: _Optional[str] = ..., relationship: _Optional[int] = ..., analyzed_by: _Optional[str] = ..., repository: _Optional[_Union[PackageRepository, _Mapping]] = ...) -> None: ...

class BuildInfo(_message.Message):
    __slots__ = ("content_sets", "nvr", "arch")
    CONTENT_SETS_FIELD_NUMBER: _ClassVar[int]
    NVR_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    content_sets: _containers.RepeatedScalarFieldContainer[str]
    nvr: str
    arch: str
    def __init__(self, content_sets: _Optional[_Iterable[str]] = ..., nvr: _Optional[str] = ..., arch: _Optional[str] = ...) -> None: ...

class PolicyMetadata(_message.Message):
    __slots__ = ("id", "adv_id", "type", "title", "description", "severity", "recommended_actions", "references", "aliases")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADV_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    id: str
    adv_id: str
    type: str
    title: str
    description: str
    severity: str
    recommended_actions: str
    references: _containers.RepeatedScalarFieldContainer[str]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., adv_id: _Optional[str] = ..., type: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., severity: _Optional[str] = ..., recommended_actions: _Optional[str] = ..., references: _Optional[_Iterable[str]] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class Line(_message.Message):
    __slots__ = ("number", "content", "is_cause", "annotation", "truncated", "highlighted", "first_cause", "last_cause")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IS_CAUSE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHTED_FIELD_NUMBER: _ClassVar[int]
    FIRST_CAUSE_FIELD_NUMBER: _ClassVar[int]
    LAST_CAUSE_FIELD_NUMBER: _ClassVar[int]
    number: int
    content: str
    is_cause: bool
    annotation: str
    truncated: bool
    highlighted: str
    first_cause: bool
    last_cause: bool
    def __init__(self, number: _Optional[int] = ..., content: _Optional[str] = ..., is_cause: _Optional[bool] = ..., annotation: _Optional[str] = ..., truncated: _Optional[bool] = ..., highlighted: _Optional[str] = ..., first_cause: _Optional[bool] = ..., last_cause: _Optional[bool] = ...) -> None: ...

class Code(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[Line]
    def __init__(self, lines: _Optional[_Iterable[_Union[Line, _Mapping]]] = ...) -> None: ...

class RenderedCause(_message.Message):
    __slots__ = ("raw", "highlighted")
    RAW_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHTED_FIELD_NUMBER: _ClassVar[int]
    raw: str
    highlighted: str
    def __init__(self, raw: _Optional[str] = ..., highlighted: _Optional[str] = ...) -> None: ...

class CauseMetadata(_message.Message):
    __slots__ = ("resource", "provider", "service", "start_line", "end_line", "code", "rendered_cause")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    START_LINE_FIELD_NUMBER: _ClassVar[int]
    END_LINE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    RENDERED_CAUSE_FIELD_NUMBER: _ClassVar[int]
    resource: str
    provider: str
    service: str
    start_line: int
    end_line: int
    code: Code
    rendered_cause: RenderedCause
    def __init__(self, resource: _Optional[str] = ..., provider: _Optional[str] = ..., service: _Optional[str] = ..., start_line: _Optional[int] = ..., end_line: _Optional[int] = ..., code: _Optional[_Union[Code, _Mapping]] = ..., rendered_cause: _Optional[_Union[RenderedCause, _Mapping]] = ...) -> None: ...

class MisconfResult(_message.Message):
    __slots__ = ("namespace", "message", "policy_metadata", "cause_metadata", "query")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    POLICY_METADATA_FIELD_NUMBER: _ClassVar[int]
    CAUSE_METADATA_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    message: str
    policy_metadata: PolicyMetadata
    cause_metadata: CauseMetadata
    query: str
    def __init__(self, namespace: _Optional[str] = ..., message: _Optional[str] = ..., policy_metadata: _Optional[_Union[PolicyMetadata, _Mapping]] = ..., cause_metadata: _Optional[_Union[CauseMetadata, _Mapping]] = ..., query: _Optional[str] = ...) -> None: ...

class Misconfiguration(_message.Message):
    __slots__ = ("file_type", "file_path", "successes", "warnings", "failures")
    FILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    file_type: str
    file_path: str
    successes: _containers.RepeatedCompositeFieldContainer[MisconfResult]
    warnings: _containers.RepeatedCompositeFieldContainer[MisconfResult]
    failures: _containers.RepeatedCompositeFieldContainer[MisconfResult]
    def __init__(self, file_type: _Optional[str] = ..., file_path: _Optional[str] = ..., successes: _Optional[_Iterable[_Union[MisconfResult, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[MisconfResult, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[MisconfResult, _Mapping]]] = ...) -> None: ...

class DetectedMisconfiguration(_message.Message):
    __slots__ = ("type", "id", "title", "description", "message", "namespace", "resolution", "severity", "primary_url", "references", "status", "layer", "cause_metadata", "avd_id", "query", "aliases")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_URL_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    CAUSE_METADATA_FIELD_NUMBER: _ClassVar[int]
    AVD_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    title: str
    description: str
    message: str
    namespace: str
    resolution: str
    severity: Severity
    primary_url: str
    references: _containers.RepeatedScalarFieldContainer[str]
    status: str
    layer: Layer
    cause_metadata: CauseMetadata
    avd_id: str
    query: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., message: _Optional[str] = ..., namespace: _Optional[str] = ..., resolution: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ..., primary_url: _Optional[str] = ..., references: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., layer: _Optional[_Union[Layer, _Mapping]] = ..., cause_metadata: _Optional[_Union[CauseMetadata, _Mapping]] = ..., avd_id: _Optional[str] = ..., query: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ...) -> None: ...

class CVSS(_message.Message):
    __slots__ = ("v2_vector", "v3_vector", "v2_score", "v3_score", "v40_vector", "v40_score")
    V2_VECTOR_FIELD_NUMBER: _ClassVar[int]
    V3_VECTOR_FIELD_NUMBER: _ClassVar[int]
    V2_SCORE_FIELD_NUMBER: _ClassVar[int]
    V3_SCORE_FIELD_NUMBER: _ClassVar[int]
    V40_VECTOR_FIELD_NUMBER: _ClassVar[int]
    V40_SCORE_FIELD_NUMBER: _ClassVar[int]
    v2_vector: str
    v3_vector: str
    v2_score: float
    v3_score: float
    v40_vector: str
    v40_score: float
    def __init__(self, v2_vector: _Optional[str] = ..., v3_vector: _Optional[str] = ..., v2_score: _Optional[float] = ..., v3_score: _Optional[float] = ..., v40_vector: _Optional[str] = ..., v40_score: _Optional[float] = ...) -> None: ...

class DataSource(_message.Message):
    __slots__ = ("id", "name", "url")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    url: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class Vulnerability(_message.Message):
    __slots__ = ("vulnerability_id", "pkg_name", "installed_version", "fixed_version", "title", "description", "severity", "references", "layer", "severity_source", "cvss", "cwe_ids", "primary_url", "published_date", "last_modified_date", "custom_advisory_data", "custom_vuln_data", "vendor_ids", "data_source", "vendor_severity", "pkg_path", "pkg_id", "status", "pkg_identifier")
    class CvssEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: CVSS
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[CVSS, _Mapping]] = ...) -> None: ...
    class VendorSeverityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Severity
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Severity, str]] = ...) -> None: ...
    VULNERABILITY_ID_FIELD_NUMBER: _ClassVar[int]
    PKG_NAME_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIXED_VERSION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CVSS_FIELD_NUMBER: _ClassVar[int]
    CWE_IDS_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_URL_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_DATE_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_DATE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ADVISORY_DATA_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_VULN_DATA_FIELD_NUMBER: _ClassVar[int]
    VENDOR_IDS_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    PKG_PATH_FIELD_NUMBER: _ClassVar[int]
    PKG_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PKG_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    vulnerability_id: str
    pkg_name: str
    installed_version: str
    fixed_version: str
    title: str
    description: str
    severity: Severity
    references: _containers.RepeatedScalarFieldContainer[str]
    layer: Layer
    severity_source: str
    cvss: _containers.MessageMap[str, CVSS]
    cwe_ids: _containers.RepeatedScalarFieldContainer[str]
    primary_url: str
    published_date: _timestamp_pb2.Timestamp
    last_modified_date: _timestamp_pb2.Timestamp
    custom_advisory_data: _struct_pb2.Value
    custom_vuln_data: _struct_pb2.Value
    vendor_ids: _containers.RepeatedScalarFieldContainer[str]
    data_source: DataSource
    vendor_severity: _containers.ScalarMap[str, Severity]
    pkg_path: str
    pkg_id: str
    status: int
    pkg_identifier: PkgIdentifier
    def __init__(self, vulnerability_id: _Optional[str] = ..., pkg_name: _Optional[str] = ..., installed_version: _Optional[str] = ..., fixed_version: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ..., references: _Optional[_Iterable[str]] = ..., layer: _Optional[_Union[Layer, _Mapping]] = ..., severity_source: _Optional[str] = ..., cvss: _Optional[_Mapping[str, CVSS]] = ..., cwe_ids: _Optional[_Iterable[str]] = ..., primary_url: _Optional[str] = ..., published_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_modified_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., custom_advisory_data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., custom_vuln_data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., vendor_ids: _Optional[_Iterable[str]] = ..., data_source: _Optional[_Union[DataSource, _Mapping]] = ..., vendor_severity: _Optional[_Mapping[str, Severity]] = ..., pkg_path: _Optional[str] = ..., pkg_id: _Optional[str] = ..., status: _Optional[int] = ..., pkg_identifier: _Optional[_Union[PkgIdentifier, _Mapping]] = ...) -> None: ...

class CustomResource(_message.Message):
    __slots__ = ("type", "file_path", "layer", "data")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    type: str
    file_path: str
    layer: Layer
    data: _struct_pb2.Value
    def __init__(self, type: _Optional[str] = ..., file_path: _Optional[str] = ..., layer: _Optional[_Union[Layer, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class SecretFinding(_message.Message):
    __slots__ = ("rule_id", "category", "severity", "title", "start_line", "end_line", "code", "match", "layer", "offset")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    START_LINE_FIELD_NUMBER: _ClassVar[int]
    END_LINE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    category: str
    severity: str
    title: str
    start_line: int
    end_line: int
    code: Code
    match: str
    layer: Layer
    offset: int
    def __init__(self, rule_id: _Optional[str] = ..., category: _Optional[str] = ..., severity: _Optional[str] = ..., title: _Optional[str] = ..., start_line: _Optional[int] = ..., end_line: _Optional[int] = ..., code: _Optional[_Union[Code, _Mapping]] = ..., match: _Optional[str] = ..., layer: _Optional[_Union[Layer, _Mapping]] = ..., offset: _Optional[int] = ...) -> None: ...

class Secret(_message.Message):
    __slots__ = ("filepath", "findings")
    FILEPATH_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    filepath: str
    findings: _containers.RepeatedCompositeFieldContainer[SecretFinding]
    def __init__(self, filepath: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[SecretFinding, _Mapping]]] = ...) -> None: ...

class LicenseCategory(_message.Message):
    __slots__ = ()
    class Enum(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNSPECIFIED: _ClassVar[LicenseCategory.Enum]
        FORBIDDEN: _ClassVar[LicenseCategory.Enum]
        RESTRICTED: _ClassVar[LicenseCategory.Enum]
        RECIPROCAL: _ClassVar[LicenseCategory.Enum]
        NOTICE: _ClassVar[LicenseCategory.Enum]
        PERMISSIVE: _ClassVar[LicenseCategory.Enum]
        UNENCUMBERED: _ClassVar[LicenseCategory.Enum]
        UNKNOWN: _ClassVar[LicenseCategory.Enum]
    UNSPECIFIED: LicenseCategory.Enum
    FORBIDDEN: LicenseCategory.Enum
    RESTRICTED: LicenseCategory.Enum
    RECIPROCAL: LicenseCategory.Enum
    NOTICE: LicenseCategory.Enum
    PERMISSIVE: LicenseCategory.Enum
    UNENCUMBERED: LicenseCategory.Enum
    UNKNOWN: LicenseCategory.Enum
    def __init__(self) -> None: ...

class LicenseType(_message.Message):
    __slots__ = ()
    class Enum(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNSPECIFIED: _ClassVar[LicenseType.Enum]
        DPKG: _ClassVar[LicenseType.Enum]
        HEADER: _ClassVar[LicenseType.Enum]
        LICENSE_FILE: _ClassVar[LicenseType.Enum]
    UNSPECIFIED: LicenseType.Enum
    DPKG: LicenseType.Enum
    HEADER: LicenseType.Enum
    LICENSE_FILE: LicenseType.Enum
    def __init__(self) -> None: ...

class DetectedLicense(_message.Message):
    __slots__ = ("severity", "category", "pkg_name", "file_path", "name", "confidence", "link", "text")
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PKG_NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    severity: Severity
    category: LicenseCategory.Enum
    pkg_name: str
    file_path: str
    name: str
    confidence: float
    link: str
    text: str
    def __init__(self, severity: _Optional[_Union[Severity, str]] = ..., category: _Optional[_Union[LicenseCategory.Enum, str]] = ..., pkg_name: _Optional[str] = ..., file_path: _Optional[str] = ..., name: _Optional[str] = ..., confidence: _Optional[float] = ..., link: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class LicenseFinding(_message.Message):
    __slots__ = ("category", "name", "confidence", "link")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    category: LicenseCategory.Enum
    name: str
    confidence: float
    link: str
    def __init__(self, category: _Optional[_Union[LicenseCategory.Enum, str]] = ..., name: _Optional[str] = ..., confidence: _Optional[float] = ..., link: _Optional[str] = ...) -> None: ...

class LicenseFile(_message.Message):
    __slots__ = ("license_type", "file_path", "pkg_name", "fingings", "layer")
    LICENSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    PKG_NAME_FIELD_NUMBER: _ClassVar[int]
    FINGINGS_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    license_type: LicenseType.Enum
    file_path: str
    pkg_name: str
    fingings: _containers.RepeatedCompositeFieldContainer[LicenseFinding]
    layer: Layer
    def __init__(self, license_type: _Optional[_Union[LicenseType.Enum, str]] = ..., file_path: _Optional[str] = ..., pkg_name: _Optional[str] = ..., fingings: _Optional[_Iterable[_Union[LicenseFinding, _Mapping]]] = ..., layer: _Optional[_Union[Layer, _Mapping]] = ...) -> None: ...
