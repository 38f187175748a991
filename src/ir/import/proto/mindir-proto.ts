/** MindIR (`mind_ir`, proto2) and MindSpore checkpoint wire formats: the fields WebPTQ reads, upstream numbers. */
export const MINDIR_PROTO = `
syntax = "proto2";
package mind_ir;

message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional double d = 4;
  optional bytes s = 5;
  optional TensorProto t = 6;
  optional GraphProto g = 7;
  repeated float floats = 8;
  repeated double doubles = 9;
  repeated int64 ints = 10;
  repeated bytes strings = 11;
  repeated TensorProto tensors = 12;
  repeated GraphProto graphs = 13;
  optional string doc_string = 14;
  optional string ref_attr_name = 15;
  optional int32 type = 16;
  repeated AttributeProto values = 17;
  optional int32 type_val = 18;
}

message ValueInfoProto {
  optional string name = 1;
  repeated TensorProto tensor = 2;
  optional string doc_string = 3;
  optional string denotation = 4;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message ModelProto {
  optional string ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional string model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated GraphProto functions = 8;
  optional string preprocessor = 9;
  optional bool little_endian = 10;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto parameter = 3;
  optional string doc_string = 4;
  repeated ValueInfoProto input = 5;
  repeated ValueInfoProto output = 6;
  optional string bprop_hash = 7;
}

message ExternalDataProto {
  optional string location = 1;
  optional int64 offset = 2;
  optional int64 length = 3;
  optional string checksum = 4;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 3;
  repeated int32 int32_data = 4;
  repeated bytes string_data = 5;
  repeated int64 int64_data = 6;
  optional string name = 7;
  optional string doc_string = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10;
  repeated uint64 uint64_data = 11;
  optional ExternalDataProto external_data = 12;
}
`;

export const CHECKPOINT_PROTO = `
syntax = "proto2";
package mindspore_ckpt;
message Checkpoint {
  message Value {
    required string tag = 1;
    required TensorProto tensor = 2;
  }
  repeated Value value = 1;
}
message TensorProto {
  repeated int64 dims = 1;
  required string tensor_type = 2;
  required bytes tensor_content = 3;
}
`;
