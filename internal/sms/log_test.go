package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestLogSend(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	outbox := NewOutbox(10)
	s := NewLog(logger, outbox, fixedClock(epoch))

	code := "731946"
	m := Message{To: "+14155550143", Body: Body(code), Code: code}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send(%+v) = %v, want nil", m, err)
	}

	out := buf.String()
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log output %q is not one JSON record: %v", out, err)
	}
	if rec["msg"] != "sms sent" {
		t.Errorf("log msg = %v, want %q", rec["msg"], "sms sent")
	}
	if rec["to"] != "+1 (•••) •••-0143" {
		t.Errorf("log to = %v, want %q", rec["to"], "+1 (•••) •••-0143")
	}
	for _, secret := range []string{code, m.Body, "4155550143", "sign-in code"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output %q contains %q", out, secret)
		}
	}

	got := outbox.Messages()
	want := []OutboxMessage{{To: m.To, Body: m.Body, Code: code, SentAt: epoch}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Messages() = %+v, want %+v", got, want)
	}
}

func TestLogRefusesInvalidMessage(t *testing.T) {
	var buf bytes.Buffer
	outbox := NewOutbox(10)
	s := NewLog(slog.New(slog.NewTextHandler(&buf, nil)), outbox, fixedClock(epoch))
	m := Message{To: "+1 415 555 0143", Body: Body("123456"), Code: "123456"}
	if err := s.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Send(%+v) = %v, want ErrInvalidMessage", m, err)
	}
	m = Message{To: "+14155550143", Body: Body("12345x"), Code: "12345x"}
	if err := s.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Send(%+v) = %v, want ErrInvalidMessage", m, err)
	}
	if n := len(outbox.Messages()); n != 0 {
		t.Errorf("outbox holds %d messages after refused sends, want 0", n)
	}
	if buf.Len() != 0 {
		t.Errorf("refused sends logged %q, want nothing", buf.String())
	}
}

func TestLogWithoutOutboxOrLogger(t *testing.T) {
	s := NewLog(nil, nil, fixedClock(epoch))
	m := Message{To: "+447400123456", Body: Body("123456"), Code: "123456"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Errorf("Send(%+v) = %v, want nil", m, err)
	}
}

func TestOutboxKeepsNewest(t *testing.T) {
	tests := []struct {
		max, sends int
		wantFirst  int // index of the oldest message kept
	}{
		{3, 0, 0},
		{3, 2, 0},
		{3, 3, 0},
		{3, 5, 2},
		{3, 7, 4},
		{1, 4, 3},
		{0, 2, 1}, // max below one keeps one
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("max%d_sends%d", tt.max, tt.sends), func(t *testing.T) {
			outbox := NewOutbox(tt.max)
			for i := 0; i < tt.sends; i++ {
				outbox.add(OutboxMessage{Code: fmt.Sprint(i), SentAt: epoch.Add(time.Duration(i) * time.Second)})
			}
			got := outbox.Messages()
			var codes []string
			for _, m := range got {
				codes = append(codes, m.Code)
			}
			var want []string
			for i := tt.wantFirst; i < tt.sends; i++ {
				want = append(want, fmt.Sprint(i))
			}
			if strings.Join(codes, ",") != strings.Join(want, ",") {
				t.Errorf("Messages() codes = %v, want %v", codes, want)
			}
		})
	}
}

func TestOutboxReturnsCopies(t *testing.T) {
	outbox := NewOutbox(2)
	outbox.add(OutboxMessage{Code: "111111"})
	got := outbox.Messages()
	got[0].Code = "999999"
	if again := outbox.Messages(); again[0].Code != "111111" {
		t.Errorf("Messages()[0].Code = %q after editing a returned copy, want %q", again[0].Code, "111111")
	}
}

func TestLogConcurrent(t *testing.T) {
	const senders, each, max = 8, 25, 50
	outbox := NewOutbox(max)
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	s := NewLog(logger, outbox, fixedClock(epoch))

	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				code := fmt.Sprintf("%06d", g*1000+i)
				if err := s.Send(context.Background(), Message{To: "+14155550143", Body: Body(code), Code: code}); err != nil {
					t.Errorf("Send = %v, want nil", err)
				}
				_ = outbox.Messages()
			}
		})
	}
	wg.Wait()
	if n := len(outbox.Messages()); n != max {
		t.Errorf("len(Messages()) = %d, want %d", n, max)
	}
	if n := strings.Count(buf.String(), "sms sent"); n != senders*each {
		t.Errorf("log has %d records, want %d", n, senders*each)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
