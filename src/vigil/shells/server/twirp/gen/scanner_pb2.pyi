from vigil.shells.server.twirp.gen import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScanRequest(_message.Message):
    __slots__ = ("target", "artifact_id", "blob_ids", "options")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    target: str
    artifact_id: str
    blob_ids: _containers.RepeatedScalarFieldContainer[str]
    options: ScanOptions
    def __init__(self, target: _Optional[str] = ..., artifact_id: _Optional[str] = ..., blob_ids: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[ScanOptions, _Mapping]] = ...) -> None: ...

class Licenses(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ScanOptions(_message.Message):
    __slots__ = ("pkg_types", "scanners", "license_categories", "include_dev_deps", "pkg_relationships", "distro", "vuln_severity_sources", "license_full")
    class LicenseCategoriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Licenses
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Licenses, _Mapping]] = ...) -> None: ...
    PKG_TYPES_FIELD_NUMBER: _ClassVar[int]
    SCANNERS_FIELD_NUMBER: _ClassVar[int]
    LICENSE_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DEV_DEPS_FIELD_NUMBER: _ClassVar[int]
    PKG_RELATIONSHIPS_FIELD_NUMBER: _ClassVar[int]
    DISTRO_FIELD_NUMBER: _ClassVar[int]
    VULN_SEVERITY_SOURCES_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FULL_FIELD_NUMBER: _ClassVar[int]
    pkg_types: _containers.RepeatedScalarFieldContainer[str]
    scanners: _containers.RepeatedScalarFieldContainer[str]
    license_categories: _containers.MessageMap[str, Licenses]
    include_dev_deps: bool
    pkg_relationships: _containers.RepeatedScalarFieldContainer[str]
    distro: _common_pb2.OS
    vuln_severity_sources: _containers.RepeatedScalarFieldContainer[str]
    license_full: bool
    def __init__(self, pkg_types: _Optional[_Iterable[str]] = ..., scanners: _Optional[_Iterable[str]] = ..., license_categories: _Optional[_Mapping[str, Licenses]] = ..., include_dev_deps: _Optional[bool] = ..., pkg_relationships: _Optional[_Iterable[str]] = ..., distro: _Optional[_Union[_common_pb2.OS, _Mapping]] = ..., vuln_severity_sources: _Optional[_Iterable[str]] = ..., license_full: _Optional[bool] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("target", "vulnerabilities", "type", "misconfigurations", "packages", "custom_resources", "secrets", "licenses")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    VULNERABILITIES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MISCONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    CLASS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    target: str
    vulnerabilities: _containers.RepeatedCompositeFieldContainer[_common_pb2.Vulnerability]
    type: str
    misconfigurations: _containers.RepeatedCompositeFieldContainer[_common_pb2.DetectedMisconfiguration]
    packages: _containers.RepeatedCompositeFieldContainer[_common_pb2.Package]
    custom_resources: _containers.RepeatedCompositeFieldContainer[_common_pb2.CustomResource]
    secrets: _containers.RepeatedCompositeFieldContainer[_common_pb2.SecretFinding]
    licenses: _containers.RepeatedCompositeFieldContainer[_common_pb2.DetectedLicense]
    def __init__(self, target: _Optional[str] = ..., vulnerabilities: _Optional[_Iterable[_Union[_common_pb2.Vulnerability, _Mapping]]] = ..., type: _Optional[str] = ..., misconfigurations: _Optional[_Iterable[_Union[_common_pb2.DetectedMisconfiguration, _Mapping]]] = ..., packages: _Optional[_Iterable[_Union[_common_pb2.Package, _Mapping]]] = ..., custom_resources: _Optional[_Iterable[_Union[_common_pb2.CustomResource, _Mapping]]] = ..., secrets: _Optional[_Iterable[_Union[_common_pb2.SecretFinding, _Mapping]]] = ..., licenses: _Optional[_Iterable[_Union[_common_pb2.DetectedLicense, _Mapping]]] = ..., **kwargs) -> None: ...

class ScanResponse(_message.Message):
    __slots__ = ("os", "results", "layers")
    OS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    os: _common_pb2.OS
    results: _containers.RepeatedCompositeFieldContainer[Result]
    layers: _containers.RepeatedCompositeFieldContainer[_common_pb2.Layer]
    def __init__(self, os: _Optional[_Union[_common_pb2.OS, _Mapping]] = ..., results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ..., layers: _Optional[_Iterable[_Union[_common_pb2.Layer, _Mapping]]] = ...) -> None: ...
