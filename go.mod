module github.com/xietong/xietong

go 1.26.8
