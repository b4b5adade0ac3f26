import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vigil.shells.server.twirp.gen import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactInfo(_message.Message):
    __slots__ = ("schema_version", "architecture", "created", "docker_version", "os", "history_packages", "secret")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DOCKER_VERSION_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_PACKAGES_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    architecture: str
    created: _timestamp_pb2.Timestamp
    docker_version: str
    os: str
    history_packages: _containers.RepeatedCompositeFieldContainer[_common_pb2.Package]
    secret: _common_pb2.Secret
    def __init__(self, schema_version: _Optional[int] = ..., architecture: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., docker_version: _Optional[str] = ..., os: _Optional[str] = ..., history_packages: _Optional[_Iterable[_Union[_common_pb2.Package, _Mapping]]] = ..., secret: _Optional[_Union[_common_pb2.Secret, _Mapping]] = ...) -> None: ...

class PutArtifactRequest(_message.Message):
    __slots__ = ("artifact_id", "artifact_info")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_INFO_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    artifact_info: ArtifactInfo
    def __init__(self, artifact_id: _Optional[str] = ..., artifact_info: _Optional[_Union[ArtifactInfo, _Mapping]] = ...) -> None: ...

class BlobInfo(_message.Message):
    __slots__ = ("schema_version", "os", "package_infos", "applications", "opaque_dirs", "whiteout_files", "digest", "diff_id", "misconfigurations", "custom_resources", "repository", "secrets", "licenses", "size", "created_by", "build_info")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_INFOS_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    OPAQUE_DIRS_FIELD_NUMBER: _ClassVar[int]
    WHITEOUT_FILES_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    MISCONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    BUILD_INFO_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    os: _common_pb2.OS
    package_infos: _containers.RepeatedCompositeFieldContainer[_common_pb2.PackageInfo]
    applications: _containers.RepeatedCompositeFieldContainer[_common_pb2.Application]
    opaque_dirs: _containers.RepeatedScalarFieldContainer[str]
    whiteout_files: _containers.RepeatedScalarFieldContainer[str]
    digest: str
    diff_id: str
    misconfigurations: _containers.RepeatedCompositeFieldContainer[_common_pb2.Misconfiguration]
    custom_resources: _containers.RepeatedCompositeFieldContainer[_common_pb2.CustomResource]
    repository: _common_pb2.Repository
    secrets: _containers.RepeatedCompositeFieldContainer[_common_pb2.Secret]
    licenses: _containers.RepeatedCompositeFieldContainer[_common_pb2.LicenseFile]
    size: int
    created_by: str
    build_info: _common_pb2.BuildInfo
    def __init__(self, schema_version: _Optional[int] = ..., os: _Optional[_Union[_common_pb2.OS, _Mapping]] = ..., package_infos: _Optional[_Iterable[_Union[_common_pb2.PackageInfo, _Mapping]]] = ..., applications: _Optional[_Iterable[_Union[_common_pb2.Application, _Mapping]]] = ..., opaque_dirs: _Optional[_Iterable[str]] = ..., whiteout_files: _Optional[_Iterable[str]] = ..., digest: _Optional[str] = ..., diff_id: _Optional[str] = ..., misconfigurations: _Optional[_Iterable[_Union[_common_pb2.Misconfiguration, _Mapping]]] = ..., custom_resources: _Optional[_Iterable[_Union[_common_pb2.CustomResource, _Mapping]]] = ..., repository: _Optional[_Union[_common_pb2.Repository, _Mapping]] = ..., secrets: _Optional[_Iterable[_Union[_common_pb2.Secret, _Mapping]]] = ..., licenses: _Optional[_Iterable[_Union[_common_pb2.LicenseFile, _Mapping]]] = ..., size: _Optional[int] = ..., created_by: _Optional[str] = ..., build_info: _Optional[_Union[_common_pb2.BuildInfo, _Mapping]] = ...) -> None: ...

class PutBlobRequest(_message.Message):
    __slots__ = ("diff_id", "blob_info")
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    BLOB_INFO_FIELD_NUMBER: _ClassVar[int]
    diff_id: str
    blob_info: BlobInfo
    def __init__(self, diff_id: _Optional[str] = ..., blob_info: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class PutResponse(_message.Message):
    __slots__ = ("os", "eosl")
    OS_FIELD_NUMBER: _ClassVar[int]
    EOSL_FIELD_NUMBER: _ClassVar[int]
    os: _common_pb2.OS
    eosl: bool
    def __init__(self, os: _Optional[_Union[_common_pb2.OS, _Mapping]] = ..., eosl: _Optional[bool] = ...) -> None: ...

class MissingBlobsRequest(_message.Message):
    __slots__ = ("artifact_id", "blob_ids")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    blob_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, artifact_id: _Optional[str] = ..., blob_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MissingBlobsResponse(_message.Message):
    __slots__ = ("missing_artifact", "missing_blob_ids")
    MISSING_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    MISSING_BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    missing_artifact: bool
    missing_blob_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, missing_artifact: _Optional[bool] = ..., missing_blob_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteBlobsRequest(_message.Message):
    __slots__ = ("blob_ids",)
    BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    blob_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, blob_ids: _Optional[_Iterable[str]] = ...) -> None: ...
