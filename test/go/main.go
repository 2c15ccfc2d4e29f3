// Command cdcreader reads a CDC topic with franz-go and decodes it with franz-go's pkg/sr: its Client looks
// each schema id up through the registry's REST API, its Serde strips the Confluent wire header (byte 0, a
// 4-byte big-endian id) and calls the decode function registered for that id, which is hamba/avro's. It prints
// one JSON document: the decoded keys and values in a normalized form (longs as strings, bytes as hex,
// decimals as plain strings, dates and times as ISO text), as test/java's reader does.
//
// Usage: go run . <registry-url> <brokers> <topic> <count>
// Kafka's SASL/SCRAM login comes from MESH_KAFKA_SASL_MECHANISM / _USERNAME / _PASSWORD (`mesh stack env`).
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"
)

// saslOption is the franz-go option for the SCRAM login in the environment, or nil without one.
func saslOption() (kgo.Opt, error) {
	mechanism := os.Getenv("MESH_KAFKA_SASL_MECHANISM")
	auth := scram.Auth{User: os.Getenv("MESH_KAFKA_SASL_USERNAME"), Pass: os.Getenv("MESH_KAFKA_SASL_PASSWORD")}
	switch mechanism {
	case "":
		return nil, nil
	case "SCRAM-SHA-512":
		return kgo.SASL(auth.AsSha512Mechanism()), nil
	case "SCRAM-SHA-256":
		return kgo.SASL(auth.AsSha256Mechanism()), nil
	default:
		return nil, fmt.Errorf("MESH_KAFKA_SASL_MECHANISM %q: this reader speaks SCRAM-SHA-256 and SCRAM-SHA-512", mechanism)
	}
}

type reader struct {
	registry *sr.Client
	serde    sr.Serde
	schemas  map[int]avro.Schema
}

// schemaFor registers a decoder for the id in the record's header the first time it is seen.
func (r *reader) schemaFor(ctx context.Context, b []byte) (avro.Schema, error) {
	id, _, err := r.serde.DecodeID(b)
	if err != nil {
		return nil, err
	}
	if s, ok := r.schemas[id]; ok {
		return s, nil
	}
	got, err := r.registry.SchemaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %w", id, err)
	}
	// A cache per schema: the key and value schemas of one topic may reuse names.
	parsed, err := avro.ParseWithCache(got.Schema, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("schema %d does not parse: %w", id, err)
	}
	r.serde.Register(id, map[string]any{}, sr.DecodeFn(func(b []byte, v any) error {
		return avro.Unmarshal(parsed, b, v)
	}))
	r.schemas[id] = parsed
	return parsed, nil
}

func (r *reader) decode(ctx context.Context, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	schema, err := r.schemaFor(ctx, b)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := r.serde.Decode(b, &v); err != nil {
		return nil, err
	}
	return normalize(schema, v), nil
}

// normalize walks the value with its schema, so logical types are printed by what they mean.
func normalize(s avro.Schema, v any) any {
	if v == nil {
		return nil
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return normalize(s.Schema(), v)
	case *avro.UnionSchema:
		// Decoding into `any`, a union's branch comes back bare when hamba's type resolver knows its Go type
		// (the primitives) and as {"<branch name>": value} otherwise (records, arrays, maps...).
		if s.Nullable() {
			for _, t := range s.Types() {
				if t.Type() != avro.Null {
					if m, ok := v.(map[string]any); ok && len(m) == 1 {
						for _, inner := range m {
							return normalize(t, inner)
						}
					}
					return normalize(t, v)
				}
			}
		}
		if m, ok := v.(map[string]any); ok {
			for name, inner := range m {
				for _, t := range s.Types() {
					if avroName(t) == name {
						return normalize(t, inner)
					}
				}
			}
		}
		return v
	case *avro.RecordSchema:
		m := v.(map[string]any)
		out := make(map[string]any, len(s.Fields()))
		for _, f := range s.Fields() {
			out[f.Name()] = normalize(f.Type(), m[f.Name()])
		}
		return out
	case *avro.ArraySchema:
		items := v.([]any)
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = normalize(s.Items(), item)
		}
		return out
	case *avro.MapSchema:
		m := v.(map[string]any)
		out := make(map[string]any, len(m))
		for k, item := range m {
			out[k] = normalize(s.Values(), item)
		}
		return out
	case *avro.FixedSchema:
		return hex.EncodeToString(fixedBytes(v))
	case *avro.PrimitiveSchema:
		if l := s.Logical(); l != nil {
			switch l.Type() {
			case avro.Decimal:
				return v.(*big.Rat).FloatString(l.(*avro.DecimalLogicalSchema).Scale())
			case avro.Date:
				return v.(time.Time).Format("2006-01-02")
			case avro.TimeMicros:
				d := v.(time.Duration)
				return time.Unix(0, 0).UTC().Add(d).Format("15:04:05.999999")
			case avro.TimestampMicros:
				return v.(time.Time).UTC().Format("2006-01-02T15:04:05.999999Z")
			case avro.LocalTimestampMicros:
				return v.(time.Time).UTC().Format("2006-01-02T15:04:05.999999")
			}
		}
		switch s.Type() {
		case avro.Long:
			return strconv.FormatInt(v.(int64), 10) // exact: JSON numbers are doubles
		case avro.Float:
			return float64(v.(float32))
		case avro.Bytes:
			return hex.EncodeToString(v.([]byte))
		}
	}
	return v
}

func avroName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func fixedBytes(v any) []byte {
	if b, ok := v.([]byte); ok {
		return b
	}
	return []byte(fmt.Sprint(v))
}

func run() error {
	if len(os.Args) != 5 {
		return fmt.Errorf("usage: cdcreader <registry-url> <brokers> <topic> <count>")
	}
	url, brokers, topic := os.Args[1], os.Args[2], os.Args[3]
	count, err := strconv.Atoi(os.Args[4])
	if err != nil {
		return err
	}
	// The registry needs a token; Confluent-style clients send it as the password of HTTP basic auth.
	registry, err := sr.NewClient(sr.URLs(url), sr.BasicAuth("mesh", os.Getenv("MESH_TOKEN")))
	if err != nil {
		return err
	}
	r := &reader{registry: registry, schemas: map[int]avro.Schema{}}
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}
	login, err := saslOption()
	if err != nil {
		return err
	}
	if login != nil {
		opts = append(opts, login)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var records []map[string]any
	for len(records) < count {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %d of %d records before the deadline", len(records), count)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return fmt.Errorf("fetch: %v", errs[0].Err)
		}
		for _, rec := range fetches.Records() {
			if rec.Value == nil {
				continue // tombstones carry no schema id
			}
			key, err := r.decode(ctx, rec.Key)
			if err != nil {
				return fmt.Errorf("key at offset %d: %w", rec.Offset, err)
			}
			value, err := r.decode(ctx, rec.Value)
			if err != nil {
				return fmt.Errorf("value at offset %d: %w", rec.Offset, err)
			}
			records = append(records, map[string]any{
				"partition": rec.Partition, "offset": rec.Offset, "key": key, "value": value,
			})
		}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"records": records})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cdcreader:", err)
		os.Exit(1)
	}
}
