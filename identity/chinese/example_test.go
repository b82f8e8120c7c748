package chinese_test

import (
	"fmt"

	"github.com/xietong/xietong/identity/chinese"
)

func ExampleCompareNames() {
	fmt.Println(chinese.CompareNames("張偉", "张伟"))
	fmt.Println(chinese.CompareNames("张伟", "张玮"))
	fmt.Println(chinese.CompareNames("王晓明", "王晓刚"))
	fmt.Println(chinese.CompareNames("张伟", "李娜"))
	// Output:
	// exact
	// homophone
	// typo
	// different
}

func ExamplePinyin() {
	fmt.Println(chinese.Pinyin("單田芳"))
	// Output: shan tian fang
}
